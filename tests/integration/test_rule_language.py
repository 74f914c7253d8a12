"""R9: dispute texts must be written in an allowed language (default: English only)."""


def test_R9_a_description_in_russian_is_refused_naming_the_language_and_nothing_is_opened(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1)])

    refused = market.open_dispute(buyer, order, description="Одного платья нет в посылке", expect=422)

    body = refused.json()
    assert body["code"] == "language_not_allowed" and body["field"] == "description"
    assert "Russian" in body["message"] and "English" in body["message"]
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None
    opened = market.open_dispute(buyer, order, description="One dress is missing (LP00123456789CN).")
    assert opened["state"] == "awaiting_seller"


def test_R9_a_counter_proposal_in_chinese_is_refused_and_the_dispute_is_unchanged(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))

    refused = seller.post(f"/disputes/{d['id']}/proposals",
                          {"resolution": "refund_only", "amount": 500, "message": "我们可以退还部分款项"},
                          expect=None)

    assert refused.status_code == 422 and refused.json()["field"] == "message"
    assert refused.json()["found"] == "zh"
    assert buyer.dispute(d["id"])["state"] == "awaiting_seller"


def test_R9_mixed_english_and_russian_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    seller.post(f"/disputes/{d['id']}/reject", {"message": "We sent everything."})

    refused = buyer.post(f"/disputes/{d['id']}/reject", {"message": "Item missing, товар не пришёл"},
                         expect=None)

    assert refused.status_code == 422 and refused.json()["code"] == "language_not_allowed"


def test_R9_chinese_and_japanese_with_digits_are_refused_as_a_proposal_and_by_the_live_check(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))

    for text, found in (("只收到了2个发夹，还缺3个", "zh"), ("2個のヘアクリップしか届きませんでした", "ja")):
        refused = seller.post(f"/disputes/{d['id']}/proposals",
                              {"resolution": "refund_only", "amount": 500, "message": text}, expect=None)
        assert refused.status_code == 422 and refused.json()["found"] == found
        live = seller.post("/language-check", {"text": text, "field": "message"}, expect=200)
        assert live["ok"] is False and live["found"] == found
    assert buyer.dispute(d["id"])["state"] == "awaiting_seller"
