"""Operators scrape /metrics: requests are counted by route template, never by raw path."""


def test_metrics_count_requests_by_route_template(market, client):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    buyer.order(order["id"])

    text = client.get("/metrics").text

    assert 'ombuds_http_requests_total{method="GET",route="/api/v1/orders/{order_id}",status="200"}' in text
    assert f'/api/v1/orders/{order["id"]}"' not in text
    assert "ombuds_http_request_seconds_bucket" in text


def test_metrics_can_be_protected_by_a_bearer_token(sqlite_url):
    from fastapi.testclient import TestClient

    from ombuds.bootstrap import create_app
    from tests.conftest import settings_for

    with TestClient(create_app(settings_for(sqlite_url, metrics_token="scrape-me"))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answered = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert answered.status_code == 200 and "ombuds_http_requests_total" in answered.text
