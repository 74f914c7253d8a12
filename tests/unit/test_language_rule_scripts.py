"""R9 across scripts: a text in another language is refused whatever it carries besides words.

For one or more languages of each script (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari,
Thai, Han, Kana, Hangul) a sentence is written plainly and with the tokens a buyer adds to a
claim: digits, a URL, a tracking number, an order number. Every variant must be refused,
naming its language; English with the same tokens must be accepted; and a language the
operator allows is accepted with them too.
"""

from __future__ import annotations

import pytest

from ombuds.adapters.language import LanguageChecker
from ombuds.domain.errors import DomainError

# (language, script, a sentence, the same claim with digits in it)
SENTENCES: list[tuple[str, str, str, str]] = [
    ("es", "Latin", "El paquete no llegó y el vendedor no responde.",
     "Solo recibí 2 de los 5 artículos que pedí."),
    ("de", "Latin", "Das Paket ist nicht angekommen, bitte erstatten Sie mir das Geld.",
     "Ich habe nur 2 von 5 Artikeln bekommen, bitte erstatten Sie den Rest."),
    ("fr", "Latin", "Le colis est arrivé vide, je demande un remboursement.",
     "Je n'ai reçu que 2 articles sur 5, je demande un remboursement."),
    ("ru", "Cyrillic", "Посылка пришла пустая, прошу вернуть деньги.",
     "Пришло только 2 заколки из 5, прошу вернуть деньги."),
    ("uk", "Cyrillic", "Посилка не прийшла вже два місяці.",
     "Прийшло лише 2 шпильки з 5, прошу повернути гроші."),
    ("kk", "Cyrillic", "Сәлеметсіз бе, қорапта бір көйлек жоқ, ақшамды қайтарыңыз.",
     "Сәлеметсіз бе, қорапта 5 заттың тек 2-еуі ғана болды, ақшамды қайтарыңыз."),
    ("el", "Greek", "Το δέμα δεν έφτασε ποτέ και ο πωλητής δεν απαντά.",
     "Έλαβα μόνο 2 από τα 5 προϊόντα που παρήγγειλα."),
    ("ar", "Arabic", "لم يصل الطرد والبائع لا يرد على رسائلي.",
     "استلمت 2 فقط من أصل 5 قطع، أريد استرداد المبلغ."),
    ("he", "Hebrew", "החבילה לא הגיעה והמוכר לא עונה.",
     "קיבלתי רק 2 מתוך 5 פריטים, אני רוצה החזר כספי."),
    ("hi", "Devanagari", "पार्सल नहीं पहुंचा और विक्रेता जवाब नहीं दे रहा है।",
     "मुझे 5 में से केवल 2 सामान मिले, कृपया पैसे वापस करें।"),
    ("th", "Thai", "พัสดุไม่มาถึงและผู้ขายไม่ตอบกลับ",
     "ได้รับสินค้าเพียง2ชิ้นจาก5ชิ้น กรุณาคืนเงิน"),
    ("zh", "Han", "包裹没有收到，卖家也不回复。",
     "只收到了2个发夹，还缺3个"),
    ("ja", "Kana", "荷物が届きません。販売者も返事をくれません。",
     "2個のヘアクリップしか届きませんでした"),
    ("ko", "Hangul", "소포가 도착하지 않았고 판매자가 답을 하지 않습니다.",
     "주문한 5개 중에 2개만 받았습니다. 환불해 주세요."),
]

# What a buyer adds to a claim besides words: none of it is language.
TOKENS = {
    "url": "https://photos.example.com/a/Xk3p9Qz",
    "tracking": "LP00123456789CN",
    "order number": "#88123-4471",
}


WITHOUT_SPACES = {"Thai", "Han", "Kana"}  # scripts written without spaces between words


def variants(plain: str, with_digits: str, script: str = "Latin") -> dict[str, str]:
    found = {"plain": plain, "digits": with_digits}
    for name, token in TOKENS.items():
        found[name] = f"{plain} {token}"
        found[f"digits, {name}"] = f"{with_digits} {token}"
        if script in WITHOUT_SPACES:
            found[f"{name} glued"] = f"{with_digits}{token}{plain}"
    return found


FOREIGN = [(lang, kind, text) for lang, script, plain, digits in SENTENCES
           for kind, text in variants(plain, digits, script).items()]
ENGLISH = list(variants("The parcel arrived but one dress is missing.",
                        "I received only 2 of the 5 hair clips I ordered.").items())


@pytest.fixture(scope="module")
def checker() -> LanguageChecker:
    return LanguageChecker()


def test_the_table_covers_every_script():
    scripts = {script for _lang, script, _p, _d in SENTENCES}
    assert scripts == {"Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Thai",
                       "Han", "Kana", "Hangul"}


@pytest.mark.parametrize(("language", "kind", "text"), FOREIGN,
                         ids=[f"{lang}-{kind}" for lang, kind, _ in FOREIGN])
def test_R9_another_language_is_refused_and_named_whatever_it_carries(checker, language, kind, text):
    with pytest.raises(DomainError) as refused:
        checker.check(text, allowed=("en",), field="description")
    assert refused.value.code == "language_not_allowed"
    assert refused.value.details["found"] == language


@pytest.mark.parametrize(("kind", "text"), ENGLISH, ids=[k for k, _ in ENGLISH])
def test_R9_english_is_accepted_with_digits_urls_tracking_and_order_numbers(checker, kind, text):
    checker.check(text, allowed=("en",), field="description")


@pytest.mark.parametrize(("language", "kind", "text"), FOREIGN,
                         ids=[f"{lang}-{kind}" for lang, kind, _ in FOREIGN])
def test_R9_an_allowed_language_is_accepted_with_the_same_tokens(checker, language, kind, text):
    checker.check(text, allowed=("en", language), field="description")


def test_R9_the_refusal_names_kazakh_as_kazakh(checker):
    with pytest.raises(DomainError) as refused:
        checker.check("Сәлеметсіз бе, қорапта бір көйлек жоқ.", allowed=("en",), field="message")
    assert "Kazakh" in refused.value.message
