"""R9: dispute texts must be in an allowed language (default English).

A table of short, real-looking texts with the verdict each must get. English claims full of
names, tracking codes, order numbers, URLs and e-mail addresses must pass; Russian,
Ukrainian, Chinese, Spanish, German and mixed texts must be refused, naming the language.
"""

from __future__ import annotations

import threading

import pytest

from ombuds.adapters.language import LanguageChecker, LazyLanguageChecker
from ombuds.domain.errors import DomainError

OK = None  # the text is accepted

TABLE: list[tuple[str, str | None]] = [
    # English claims, with names, numbers, tracking codes, URLs and addresses -------------
    ("The parcel arrived but one dress is missing.", OK),
    ("Tracking LP00123456789CN shows delivered, but I never got it.", OK),
    ("Hello Mr. Zhang Wei, I ordered 2 dresses and received only 1.", OK),
    ("My name is Olga Petrova, order #88123-4471, item never arrived.", OK),
    ("Package RR123456785RU was returned to Shenzhen, please refund 18.50 USD.", OK),
    ("See the photos at https://imgur.com/a/Xk3p9Qz and my e-mail olga.petrova@mail.ru", OK),
    ("The phone case is cracked. Seller: Guangzhou Hongda Trading Co., Ltd.", OK),
    ("Wrong size: I ordered XL, got S. Label says 160/84A.", OK),
    ("Colour is not as described, it's dark blue not black.", OK),
    ("Counterfeit! The logo on the box says 'Samsnug'.", OK),
    ("I contacted Cainiao support on 12.03.2026, ticket 55120934.", OK),
    ("Received empty box, weight 0.2 kg instead of 1.5 kg.", OK),
    ("The seller Li Na promised a replacement via AliExpress Standard Shipping.", OK),
    ("Ok", OK),
    ("Yes", OK),
    ("Item missing.", OK),
    ("Parcel stuck in Moscow sorting centre since 3 March.", OK),
    ("Delivered to Ivanova A.S., ul. Lenina 5, Novosibirsk, but not to me.", OK),
    ("Courier José García said the box was already open.", OK),
    ("Only 3 of 5 items in the parcel, see video IMG_4021.MOV", OK),
    ("Please check the unboxing video, from 0:35 the seal is broken.", OK),
    ("I already agreed with Dmitry from the store to get a partial refund of $7.", OK),
    ("We shipped it with Yanwen, tracking UG123456789YP, weight 340 g.", OK),
    ("Product works fine, the buyer broke the screen after delivery.", OK),
    ("The charger from Müller GmbH does not fit EU sockets.", OK),
    # Cyrillic and CJK: caught by the script check even in one short line -----------------
    ("Товар не пришёл", "ru"),
    ("Посылка пришла пустая, прошу вернуть деньги.", "ru"),
    ("В посылке не хватает одного платья.", "ru"),
    ("Здравствуйте, где мой заказ?", "ru"),
    ("Да", "ru"),
    ("Товар не відповідає опису, прошу повернути гроші.", "uk"),
    ("Посилка не прийшла вже два місяці.", "uk"),
    ("Її розмір не підходить.", "uk"),
    ("包裹没有收到", "zh"),
    ("商品与描述不符，请退款。", "zh"),
    ("你好，我的订单 LP00123456789CN 还没到。", "zh"),
    # Other Latin-script languages ----------------------------------------------------
    ("El paquete no llegó y el vendedor no responde.", "es"),
    ("Falta un vestido en el paquete, quiero un reembolso.", "es"),
    ("Das Paket ist nicht angekommen, bitte erstatten Sie mir das Geld.", "de"),
    ("Die Ware ist beschädigt und entspricht nicht der Beschreibung.", "de"),
    ("Le colis est arrivé vide, je demande un remboursement.", "fr"),
    ("O produto chegou quebrado e o vendedor não responde.", "pt"),
    ("Paczka nie dotarła, proszę o zwrot pieniędzy.", "pl"),
    # Mixed texts are refused, naming the other language -------------------------------
    ("Item missing, товар не пришёл", "ru"),
    ("Hello, посылка пришла пустая", "ru"),
    ("The parcel LP00123456789CN arrived empty 包裹是空的", "zh"),
    ("Dress missing. El vestido no estaba en el paquete y el vendedor no contesta.", "es"),
    ("The parcel never arrived. Das Paket ist nie angekommen, ich will mein Geld zurück.", "de"),
]


@pytest.fixture(scope="module")
def checker() -> LanguageChecker:
    return LanguageChecker()


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t[:40] for t, _ in TABLE])
def test_r9_language_rule_table(checker: LanguageChecker, text: str, expected: str | None):
    if expected is OK:
        checker.check(text, allowed=("en",), field="description")
        return
    with pytest.raises(DomainError) as refused:
        checker.check(text, allowed=("en",), field="description")
    err = refused.value
    assert err.code == "language_not_allowed"
    assert err.field == "description"
    assert err.details["found"] == expected
    assert err.details["allowed"] == ["en"]


def test_the_table_is_big_enough_and_covers_every_verdict():
    verdicts = {expected for _, expected in TABLE}
    assert len(TABLE) >= 40
    assert {OK, "ru", "uk", "zh", "es", "de"} <= verdicts


def test_the_refusal_names_the_language_and_says_what_to_do(checker: LanguageChecker):
    with pytest.raises(DomainError) as refused:
        checker.check("Посылка пришла пустая", allowed=("en",), field="message")
    message = refused.value.message
    assert "Russian" in message
    assert "English" in message and "please write it in English" in message


def test_mixed_text_says_that_part_of_it_is_in_another_language(checker: LanguageChecker):
    with pytest.raises(DomainError) as refused:
        checker.check("Item missing, товар не пришёл", allowed=("en",), field="description")
    assert "Part of this text looks Russian" in refused.value.message


def test_an_operator_allowing_russian_accepts_russian_and_english(checker: LanguageChecker):
    checker.check("Посылка пришла пустая", allowed=("en", "ru"), field="description")
    checker.check("The parcel arrived empty.", allowed=("en", "ru"), field="description")
    with pytest.raises(DomainError) as refused:
        checker.check("包裹没有收到", allowed=("en", "ru"), field="description")
    assert "English or Russian" in refused.value.message


def test_an_operator_allowing_only_spanish_refuses_english(checker: LanguageChecker):
    checker.check("El paquete no llegó y el vendedor no responde.", allowed=("es",), field="d")
    with pytest.raises(DomainError) as refused:
        checker.check("The parcel never arrived and the seller does not answer.", allowed=("es",),
                      field="d")
    assert refused.value.details["found"] == "en"


@pytest.mark.parametrize(("text", "expected"), [
    ("The parcel never arrived.", "en"),
    ("Посылка не пришла.", "ru"),
    ("包裹没有收到", "zh"),
    ("LP00123456789CN 12.03.2026", None),
    ("", None),
])
def test_detect_names_the_language_or_none(checker: LanguageChecker, text: str, expected):
    assert checker.detect(text) == expected


def test_the_checker_is_built_once_per_context_even_from_many_threads():
    built: list[LanguageChecker] = []

    def build() -> LanguageChecker:
        built.append(LanguageChecker())
        return built[-1]

    lazy = LazyLanguageChecker(build)
    seen: list[LanguageChecker] = []
    threads = [threading.Thread(target=lambda: seen.append(lazy.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1
    assert seen[0] is lazy.get()
    assert len(built) == 1
