def test_seller_silence_refunds_the_buyer_smoke(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1)])
    d = market.open_dispute(buyer, order)
    assert d["state"] == "awaiting_seller" and d["deadline"]["name"] == "respond_by"
    market.advance("5d")
    d = buyer.dispute(d["id"])
    assert d["state"] == "closed" and d["outcome"] == "refunded_full"
