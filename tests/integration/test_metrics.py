"""Operators scrape /metrics: requests are counted by route template, never by raw path."""


def test_metrics_count_requests_by_route_template(market, client):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    buyer.order(order["id"])

    text = client.get("/metrics").text

    assert 'ombuds_http_requests_total{method="GET",route="/api/v1/orders/{order_id}",status="200"}' in text
    assert f'/api/v1/orders/{order["id"]}"' not in text
    assert "ombuds_http_request_seconds_bucket" in text
