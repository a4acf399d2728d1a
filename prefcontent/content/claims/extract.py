r"""What a line of copy claims, read off free text with exact patterns and small lexicons.

Kinds (KINDS): a discount ("20% off", "save $10", "half price", "buy one get one free"), a price
(any other currency amount: "$49", "orders over $50", "was $80"), a deadline (a stated end:
"ends tonight", "48 hours only", "until Sunday"), urgency without a date ("last chance", "hurry",
"while stocks last"), shipping ("free delivery", "free returns"), a guarantee ("money-back",
"guaranteed", "2-year warranty"), a superlative ("best", "#1", "top-rated", "lowest price"), a
quantity (a number with a unit or counted noun: "500 ml", "100% cotton", "2,000 customers") and a
rating ("rated 4.8", "4.8 stars"). Where spans of two kinds overlap, the more specific kind keeps
it (PRIORITY): "48 hours only" is a deadline, not a quantity; "20% off" a discount, not a quantity.

Locale hooks: `Locale` says how numbers are written (en: 1,299.50; de/fr: 1.299,50) and which
lexicon applies; every locale uses the English lexicon until one of its own is added.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

DISCOUNT, PRICE, DEADLINE, URGENCY, SHIPPING = "discount", "price", "deadline", "urgency", "shipping"
GUARANTEE, SUPERLATIVE, QUANTITY, RATING = "guarantee", "superlative", "quantity", "rating"
KINDS = (DISCOUNT, PRICE, DEADLINE, URGENCY, SHIPPING, GUARANTEE, SUPERLATIVE, QUANTITY, RATING)
# Lower index wins an overlap: the more specific reading of the same words.
PRIORITY = (DISCOUNT, DEADLINE, GUARANTEE, RATING, SHIPPING, URGENCY, SUPERLATIVE, PRICE, QUANTITY)


@dataclass(frozen=True)
class Locale:
    """How a locale writes numbers; the lexicon is English for every locale so far."""

    code: str
    number: str  # regex of one number, thousands separators and decimals included
    decimal: str
    thousands: str

    def parse_number(self, raw: str) -> float:
        return float(raw.replace(self.thousands, "").replace(self.decimal, "."))


LOCALES = {
    "en": Locale("en", r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", ".", ","),
    "de": Locale("de", r"(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?", ",", "."),
    "fr": Locale("fr", r"(?:\d{1,3}(?:\u202f\d{3})+|\d+)(?:,\d+)?", ",", "\u202f"),
}
LOCALES["es"] = LOCALES["it"] = LOCALES["nl"] = LOCALES["pt"] = LOCALES["de"]


def locale_for(code: str) -> Locale:
    """The locale of a brief's code ("en-GB", "de_DE", ""): its language's, else English."""
    return LOCALES.get((code or "en").replace("_", "-").split("-")[0].lower(), LOCALES["en"])


@dataclass(frozen=True)
class Claim:
    """One claim in a text."""

    kind: str  # one of KINDS
    text: str  # the words that make the claim
    start: int
    end: int
    value: float | None = None  # percent or amount (discount), amount (price), number (quantity, rating)
    unit: str = ""  # "%" or "amount" or "bundle" (discount); the unit or counted noun (quantity)
    detail: str = ""  # price: price|threshold|was; deadline: when it ends; urgency: time|stock; ...
    figures: tuple[tuple[int, int, float], ...] = ()  # a percentage discount's numbers: (start, end, value)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "start": self.start, "end": self.end, "value": self.value,
                "unit": self.unit, "detail": self.detail}


WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "twelve": 12, "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100, "a": 1, "an": 1}
_WORDNUM = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|fifty)"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12}
_SPANS = r"(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|reasons?|ways?|times?)"  # "two weeks for $10"
_QTY_WORDS = r"(?:two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|fifty)"  # "one cup": no claim
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_ORD = r"(?:st|nd|rd|th)?"
_DATE = rf"(?:\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+\d{{1,2}}{_ORD}\b|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)"
_CLOCK = r"\d{1,2}(?::\d{2})?\s*(?:am|pm)(?:\s+(?:tonight|today|tomorrow))?"  # "8pm", "9:30 am tomorrow"
_WHEN = (rf"(?:tonight|today|tomorrow(?:\s+night)?|midnight(?:\s+tonight)?|noon|{_CLOCK}|(?:this|next)\s+(?:weekend|week|month)"
         rf"|the\s+weekend|(?:this\s+|next\s+)?{_WEEKDAY}(?:\s+(?:night|at\s+midnight))?|{_DATE}"
         rf"|the\s+end\s+of\s+(?:the\s+)?(?:day|week|weekend|month|{_WEEKDAY}|{_MONTH}))")
_UNITS = (r"ml|millilit(?:er|re)s?|l|lit(?:er|re)s?|fl\.?\s?oz|oz|ounces?|g|grams?|kg|kilos?|kilograms?|lbs?|"
          r"pounds?|mg|cm|mm|m|metres?|meters?|km|kilomet(?:er|re)s?|miles?|in\.|inch(?:es)?|ft|feet|foot|"
          r"mah|wh|w|watts?|v|volts?|gb|tb|mb|mp|megapixels?|hz|kcal|calories|cal|mph|km/h|k|"
          r"hours?|hrs?|h|minutes?|mins?|seconds?|days?|weeks?|months?|years?|yrs?|"
          r"layers?|pockets?|colou?rs?|shades?|flavou?rs?|scents?|styles?|sizes?|pieces?|pcs|pairs?|cups?|"
          r"servings?|shots?|capsules?|pods?|candles?|beans?|blends?|pack|packs|percent|per\s?cent|"
          r"customers?|reviews?|ratings?|runners?|hikers?|users?|members?|subscribers?|stores?|shops?|"
          r"countries|people|sold|orders?|fans|miles?|steps?|washes|uses|nights?|buyers|shoppers|testers|households|"
          r"families|athletes|trees|ingredients")
# Superlatives without a rule of their own: "the fastest", "our lightest", "the world's warmest".
_EST = (r"fastest|lightest|softest|strongest|warmest|driest|freshest|finest|smoothest|quietest|comfiest|cosiest|"
        r"coziest|biggest|greatest|highest|lowest|cheapest|toughest|smartest|thinnest|brightest|safest|healthiest|"
        r"tastiest|richest|purest|cleanest|longest|largest|boldest|crispest|sharpest|loudest|sturdiest|grippiest|"
        r"best|deepest|hottest|coolest|quickest|easiest|sweetest|juiciest|most\s+\w+")
_NEG_BEST = re.compile(
    r"(?:\bbest\s+(?:friends?|wishes|regards|before|man|of\s+luck|of\s+all|of\s+both)\b|\ball\s+the\s+best\b|"
    r"\b(?:do|did|doing|try|tried|trying|give|gave|giving)\s+(?:our|your|my|their|his|her|its)\s+best\b|"
    r"\b(?:your|my|personal|his|her)\s+(?:very\s+)?best\b|\bat\s+(?:its|your|their|our|his|her)\s+best\b|"
    r"\b(?:look|feel|be|bring|become)\s+(?:your|their|our)\s+best\b|\bbest\s+(?:enjoyed|served|kept|stored)\b|"
    r"\bthe\s+most\s+(?:of|out\s+of)\b|\bit'?s\s+best\b|\bmake\s+the\s+most\b|\bbest\s+(?:part|bit)\b)", re.IGNORECASE)
# "not guaranteed", "no guarantee": a disclaimer, not a promise.
_NEGATED = re.compile(r"\b(?:not|never|no|without|nothing(?:'s|\s+is)?)\s+(?:\w+\s+)?$", re.IGNORECASE)
_OFFER_BEFORE = re.compile(r"\b(?:off|sale|savings?|deals?|offer|discount|half[\s-]price|free\s+(?:shipping|delivery))\b"
                           r"[^.!?;:]{0,40}$",
                           re.IGNORECASE)
# Delivery speed, not the offer's end: "arrives by Friday", "ships within 2 days".
_DELIVERY_BEFORE = re.compile(r"\b(?:arrives?|arriving|delivered|ships?|shipped|dispatch(?:ed|es)?|get\s+it|in\s+time|"
                              r"there)\b(?:\s+\w+){0,3}\s*$", re.IGNORECASE)
# Opening hours, not the offer's end: "open until 8pm", "doors open till midnight".
_HOURS_BEFORE = re.compile(r"\b(?:open|opens|opening|doors)\b(?:\s+\w+){0,2}\s*$", re.IGNORECASE)
_ORDER_BEFORE = re.compile(r"\border(?:ed)?\s*$", re.IGNORECASE)
_DELIVERY_WORDS = re.compile(r"\b(?:deliver(?:y|ed|s)?|ships?|shipped|shipping|dispatch(?:ed)?|arrives?)\b", re.IGNORECASE)
_RATED_BEFORE = re.compile(r"\b(?:rated|reviewed|loved|trusted|chosen|used|worn|tested|backed|recommended|"
                           r"approved)\b(?:[^.!?;]|\.(?=\d))*$", re.IGNORECASE)
# An order cut-off, not the offer's end: "order by 2pm for next-day delivery".
_DELIVERY_AFTER = re.compile(r"^\s*(?:for|to\s+get(?:\s+it)?)\s+(?:[\w-]+\s+){0,2}(?:delivery|dispatch|shipping)\b",
                             re.IGNORECASE)


@dataclass(frozen=True)
class _Patterns:
    percent: re.Pattern
    discount_after: tuple[re.Pattern, ...]
    discount_before: re.Pattern
    discount_amount: re.Pattern
    half: re.Pattern
    bundle: re.Pattern
    money: re.Pattern
    deadlines: tuple[re.Pattern, ...]
    offer_window: re.Pattern
    urgency_time: re.Pattern
    urgency_stock: re.Pattern
    shipping: re.Pattern
    returns: re.Pattern
    guarantee: re.Pattern
    superlatives: tuple[re.Pattern, ...]
    rating: tuple[re.Pattern, ...]
    quantity: re.Pattern
    counted_by: re.Pattern
    spf: re.Pattern


def _c(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


@lru_cache(maxsize=8)
def _patterns(code: str) -> _Patterns:
    num = LOCALES[code].number
    # "12,5 %" is a decimal comma in any locale (no percentage has a thousands group); a percentage
    # never starts inside a number ("12,5%" is not 5%).
    pct = rf"(?<![\d.,])(?P<pct>\d{{1,2}},\d{{1,2}}(?!\d)|{num})\s*(?:%|percent\b|per\s?cent\b)"
    cur_sym = r"(?:US\$|A\$|C\$|NZ\$|[$£€¥])"
    cur_word = r"(?:USD|EUR|GBP|CAD|AUD|dollars?|euros?|bucks)\b"
    money = (rf"(?:{cur_sym}\s?(?P<amt>{num})(?:\s?(?P<mult>k)\b)?|(?P<amt2>{num})\s?(?:{cur_sym}|{cur_word}))")
    nums = rf"(?:{num}|{_WORDNUM})"
    return _Patterns(
        percent=_c(pct),
        discount_after=(_c(pct + r"(?!\s+of\b)(?:\W+\w+){0,2}?\W*(?:off|discount(?:ed)?|savings?|sale|cheaper|"
                                 r"less(?!\s+(?:plastic|sugar|water|waste|energy|fat|salt|packaging|carbon|co2|emissions|"
                                 r"caffeine|weight|noise|power|fuel))|reduction|markdown)\b"),
                        _c(r"(?<!\d)(?!100\s*%)" + pct + r"\s+(?:on|across)(?=\s+(?:all|every|your|our|the|selected|\w+s\b))")),
        discount_before=_c(r"\b(?:save|saving|savings\s+of|discounts?\s+of|up\s+to|take|extra|an\s+extra|"
                           r"reduced\s+by|slashed\s+by|cut\s+by|knock)\W+(?:\w+\W+){0,2}?" + pct),
        discount_amount=_c(money.replace("P<amt>", "P<damt>").replace("P<amt2>", "P<damt2>").replace("P<mult>", "P<dm>")
                           + r"\s+(?:off|discount|savings?|cheaper|less)\b|\b(?:save|saving|take|knock)\s+(?:up\s+to\s+|"
                           r"an\s+extra\s+|extra\s+)?" + money),
        half=_c(r"\bhalf[\s-]+(?:off|price|priced)\b|\b(?:save|take)\s+(?:a\s+)?(?P<f>1/3|third|1/4|quarter)\b|"
                r"\b(?:a\s+)?(?P<f2>1/3|third|1/4|quarter)\s+off\b"),
        bundle=_c(rf"\bbuy\s+(?:any\s+)?(?P<buy>{nums}|a|an)(?:\s+\w+)?,?\s+get\s+(?P<get>{nums}|a|an|the\s+(?:second|third|next)"
                  rf"(?:\s+one)?)(?:\s+\w+)?\s+(?P<how>free|half[\s-]price|{pct}\s+off)\b|\bbogof?\b|"
                  rf"(?<![$£€¥\d.,])\b(?P<x>\d+|{_QTY_WORDS})\s+(?:(?!{_SPANS}\b)[a-z]+\s+)?for\s+"
                  rf"(?P<y>\d{{1,3}}(?![\d.,])|{money})"
                  rf"(?!\s*(?:%|hours?|days?|years?|minutes?))\b|"
                  rf"\b(?:second|2nd|third|3rd)\s+(?:[a-z]+\s+)?(?:is\s+)?(?:free|half[\s-]price)\b|"
                  rf"\bhalf[\s-]+(?:off|price)\s+(?:on\s+)?(?:your|the|a|any|every)\s+(?:second|2nd|third|3rd|next)\b|"
                  rf"\b(?P<x2>{nums})\s+(?:\w+\s+){{0,3}}for\s+the\s+price\s+of\s+(?P<y2>{nums})\b|"
                  rf"\btwo[\s-]for[\s-]one\b"),
        money=_c(money),
        deadlines=(
            _c(rf"\b(?:ends?|ending|expires?|expiring|closes?|closing|finishes)\s+"
               rf"(?:(?:at|on|by|until|till|through|thru)\s+)?(?:at\s+)?{_WHEN}\b"),
            _c(rf"\b(?:ends?|ending|expires?|closes?)\s+in\s+(?:just\s+)?{nums}\s*(?:hours?|hrs?|h|days?|minutes?)\b"),
            _c(rf"\b(?:until|till|til|through|thru|before|by)\s+{_WHEN}\b"),
            _c(rf"\b(?:(?:for\s+)?(?:today|tonight)|(?:this\s+|the\s+)?weekend|this\s+week|(?:this\s+)?{_WEEKDAY}|"
               rf"one\s+(?:day|night|week)|"
               rf"{nums}\s*[- ]?(?:days?|hours?|hrs?|h|nights?))\s+only\b"),
            _c(rf"\b(?:only\s+|just\s+)?{nums}\s*[- ]?(?:hours?|hrs?|days?|minutes?)\s+(?:left|to\s+go|remaining)\b"),
            _c(rf"\b{nums}[- ](?:hour|day|night)\s+(?:flash\s+|only\s+)?(?:sale|deal|offer|event|window|drop|"
               rf"countdown|blitz|promo)\b"),
            _c(rf"\b(?:for|in|within|over)\s+the\s+next\s+{nums}\s+(?:hours?|days?)\b"),
            _c(rf"\b{nums}\s*(?:hours?|days?)\s+(?:left\s+)?to\s+(?:save|shop|buy|get|claim|grab)\b"),
            _c(r"\bonly\s+(?:this\s+weekend|this\s+week|today|tonight)\b"),
            _c(r"\b(?:last|final)\s+day\b|\bone\s+day\s+sale\b|\bmidnight\s+tonight\b"),
            _c(r"\b(?:last|final)\s+(?:weekend|week)\b"),
            _c(rf"\b(?:prices?\s+)?(?:go(?:es)?|goes|going)\s+back\s+up\s+(?:at\s+|on\s+)?{_WHEN}\b"),
            # The offer's end said as the price's return: "prices rise on Monday".
            _c(rf"\bprices?\s+(?:rises?|rising|increases?|go(?:es)?\s+up|jumps?)\s+(?:at\s+|on\s+|from\s+)?{_WHEN}\b"),
        ),
        offer_window=_c(rf"\b(?:for|over)\s+(?:just\s+|only\s+)?{nums}\s+(?:hours?|days?)\b"),
        urgency_time=_c(r"\b(?:hurry|last\s+chance|final\s+chance|last\s+call|final\s+call|don'?t\s+miss(?:\s+out)?|"
                        r"limited[\s-]time|for\s+a\s+limited\s+time|act\s+(?:now|fast)|ending\s+soon|ends\s+soon|"
                        r"final\s+hours|last\s+hours|final\s+days|last\s+few\s+days|now\s+or\s+never|"
                        r"won'?t\s+last(?:\s+long)?|time\s+is\s+running\s+out|running\s+out\s+of\s+time|"
                        r"before\s+it'?s\s+too\s+late|closing\s+soon|quick|be\s+quick|while\s+you\s+can|last\s+orders|"
                        r"(?:only\s+|just\s+)?(?:a\s+few\s+)?(?:hours|days)\s+(?:left|to\s+go|remaining)|"
                        r"(?:let\s+)?(?:it|this|the\s+\w+)\s+pass\s+you\s+by)\b"),
        urgency_stock=_c(r"\b(?:while\s+(?:stocks?|supplies)\s+lasts?|selling\s+(?:fast|out)|almost\s+gone|"
                         r"going\s+fast|(?:only|just)\s+\d+\s+left(?:\s+in\s+stock)?|(?:only\s+)?(?:a\s+)?few\s+left|"
                         r"limited\s+(?:stock|quantities|supply)|low\s+(?:in\s+)?stock|"
                         r"(?:stocks?|supplies)\s+(?:is|are)\s+(?:running\s+)?low|"
                         r"before\s+(?:it'?s|they'?re)\s+(?:all\s+)?gone|(?:nearly|almost)\s+sold\s+out|"
                         r"last\s+(?:few\s+)?(?:pairs|pieces|units|ones))\b"),
        shipping=_c(r"\bfree\s+(?:(?:standard|express|next[\s-]day|same[\s-]day|2[\s-]day|two[\s-]day|uk|us|eu|"
                    r"worldwide|international|tracked|fast|global|home|click\s*(?:&|and)\s*collect)\s+)*"
                    r"(?:shipping|delivery|postage|p&p|p\s*&\s*p)(?:\s+(?:and|&)\s+returns)?\b|\bships?\s+(?:for\s+)?free\b|"
                    r"\b(?:shipping|delivery|postage)(?:'s|\s+is)?\s+(?:on\s+(?:us|the\s+house)|free|included)\b|"
                    r"\bno\s+(?:shipping|delivery|postage)\s+(?:fees?|charges?|costs?)\b|\bfree\s+click\s*(?:&|and)\s*collect\b|"
                    r"\b(?:shipping|delivery|postage)\?\s+(?:always\s+|it'?s\s+)?free\b"),
        returns=_c(r"\bfree\s+(?:returns|exchanges|returns\s+(?:and|&)\s+exchanges)\b|"
                   r"\bfree\s+\d+[\s-]day\s+(?P<ret>returns|exchanges)\b|"
                   r"\bwe\s+(?:cover|pay(?:\s+for)?)\s+(?:the\s+|your\s+)?returns?\s+(?:shipping|postage|delivery)\b|"
                   r"\b(?:returns|exchanges)\s+(?:are|is)\s+(?:always\s+)?(?:free|on\s+(?:us|the\s+house))\b|"
                   r"\bfree\s+to\s+return\b|\b(?:returns|exchanges)\?\s+(?:always\s+|they'?re\s+)?free\b|\b(?:and\s+)?so\s+are\s+(?:returns|exchanges)\b"),
        guarantee=_c(r"\b(?:100%\s+)?(?:money[\s-]back|satisfaction|price[\s-]match|lifetime|happiness|fit|comfort|"
                     r"best[\s-]price|\d+[\s-]day|\d+[\s-]year|low[\s-]price|freshness)\s+guarantee[ds]?\b|"
                     r"\b(?:100%\s+)?satisfaction\s+guaranteed\b|\bguarantee[ds]?\b|\brisk[\s-]free\b|"
                     rf"\b(?:{num}|{_WORDNUM}|lifetime)[\s-](?:years?|months?|yr)?[\s-]?warranty\b|"
                     r"\blifetime\s+warranty\b|\bwarranty\s*:|\bno[\s-]quibble\b|\breturns?\s+promise\b|\bmoney\s+back\b|\bfull\s+refund\b|\brefund\s+(?:you\s+)?in\s+full\b|\bwe(?:\s+can|'ll|\s+will)?\s+promise\b|"
                     r"\bour\s+promise\s*:"),
        superlatives=(
            _c(r"\b(?:no\.\s?1|number\s+(?:one|1))\b|#\s?1\b"),
            _c(r"\b(?:top|highest|best)[\s-](?:rated|selling|sellers?|reviewed|ranked|loved|pick)\b|\bbestsell(?:er|ing)s?\b"),
            _c(r"\blowest\s+prices?\b|\bcheapest\b|\bunbeatable\b|\bunmatched\b|\bunrivall?ed\b|\bsecond\s+to\s+none\b"),
            _c(rf"\b(?:the|our|its|their|world'?s|\w+'s)\s+(?:very\s+|absolute\s+)?(?:{_EST})\b"),
            _c(r"\b(?:world'?s|britain'?s|america'?s|europe'?s|uk'?s|the\s+nation'?s)\s+(?:first|leading|favou?rite)\b|"
               r"\bthe\s+leading\b"),
            _c(r"\bbest\b"),
        ),
        rating=(
            _c(r"(?<![\w-])rated[\s-]+(?P<r>[0-5](?:[.,]\d)?)(?:\s*(?:/|out\s+of)\s*5)?(?:\s*stars?)?(?!\w|[.,]\d)"),
            _c(r"(?<![\w.])(?P<r>[0-5](?:[.,]\d)?)\s*(?:/\s*5|out\s+of\s+5)(?:\s*stars?)?(?!\w|[.,]\d)|"
               r"(?<![\w.])(?P<r2>[0-5](?:[.,]\d)?)\s*[- ]?(?:stars?\b|★)(?:\s+(?:rated|rating|reviews?|average)\b)?|"
               r"★\s*(?P<r3>[0-5](?:[.,]\d)?)"),
            _c(r"\b(?P<w>five|four)[\s-]star\s+(?:rated|rating|reviews?)\b|\brated\s+(?:excellent|outstanding)\b|"
               r"\b(?:rated\s+)?(?P<w2>five|four)\s+stars\b|(?<![\w.])(?P<r4>[0-5][.,]\d)\s+(?:average|avg)\b"),
        ),
        quantity=_c(rf"(?<![\w.,])(?P<q>{num}|{_QTY_WORDS})(?:\s?\+)?\s*[- ]?(?:(?:happy|satisfied|loyal|verified)\s+)?"
                    rf"(?P<u>%(?!\s+(?:behind|with|for|sure|yours?|you|committed|focused|here|there|that|right|on)\b)|"
                    rf"(?:{_UNITS})\b)|"
                    rf"(?P<q2>{num}|{_QTY_WORDS})[- ](?:pack|piece|layer)\b"),
        # Who rated or chose it, counted: "rated 4.9 by 500 campers" (any plural noun after a rating verb).
        counted_by=_c(rf"\bby\s+(?:over\s+|more\s+than\s+)?(?P<q>{num})\+?\s+(?P<u>[a-z]+s)\b"),
        spf=_c(r"\bSPF\s?(?P<q>\d+)\b|\bIP(?P<q2>\d\d)\b"),
    )


def _pattern_set(locale: str) -> tuple[_Patterns, Locale]:
    loc = locale_for(locale)
    return _patterns(loc.code), loc


def _number(raw: str | None, loc: Locale) -> float | None:
    if raw is None:
        return None
    word = raw.lower()
    return float(WORD_NUMBERS[word]) if word in WORD_NUMBERS else loc.parse_number(raw)


def _percent_value(raw: str, loc: Locale) -> float:
    """The value of a percentage's number as written ("12,5" is 12.5 in every locale)."""
    if re.fullmatch(r"\d{1,2},\d{1,2}", raw):
        return float(raw.replace(",", "."))
    return loc.parse_number(raw)


def _money_value(m: re.Match, loc: Locale, *groups: str) -> float | None:
    for group in groups:
        raw = m.groupdict().get(group)
        if raw:
            value = loc.parse_number(raw)
            mult = next((m.group(g) for g in ("mult", "dm") if m.groupdict().get(g)), None)
            return value * 1000 if mult else value
    return None


@dataclass
class _Found:
    claims: list[Claim] = field(default_factory=list)

    def add(self, kind: str, m: re.Match, value: float | None = None, unit: str = "", detail: str = "",
            figures: tuple[tuple[int, int, float], ...] = ()) -> None:
        self.claims.append(Claim(kind, m.group(0), m.start(), m.end(), value, unit, detail, figures))


def _deadline_detail(words: str) -> str:
    """When a deadline says the offer ends: today, tomorrow, a weekday, weekend, week, month, MM-DD, <n>h, <n>d."""
    low = words.lower()
    hours = re.search(rf"(\d+|{_WORDNUM})\s*[- ]?(hours?|hrs?|h|days?|nights?|minutes?)\b", low)
    if hours and not re.search(r"\b(?:today|tonight)\b", low):
        n = int(WORD_NUMBERS.get(hours.group(1), 0) or hours.group(1))
        unit = hours.group(2)
        if n == 1 and unit.startswith(("day", "night")):
            return "today"
        return f"{n}d" if unit.startswith(("day", "night")) else f"{max(n, 1)}h" if unit[0] == "h" else "today"
    for word, label in (("tomorrow", "tomorrow"), ("weekend", "weekend"), ("week", "week"), ("month", "month")):
        if word in low:
            return label
    for day in WEEKDAYS:
        if day in low:
            return day
    date = re.search(rf"(\d{{1,2}}){_ORD}\s+(?:of\s+)?({_MONTH})|({_MONTH})\s+(\d{{1,2}})|(\d{{1,2}})/(\d{{1,2}})", low)
    if date:
        if date.group(1):
            return f"{MONTHS[date.group(2)[:3]]:02d}-{int(date.group(1)):02d}"
        if date.group(3):
            return f"{MONTHS[date.group(3)[:3]]:02d}-{int(date.group(4)):02d}"
        first, second = int(date.group(5)), int(date.group(6))
        return f"{first:02d}-{second:02d}" if first <= 12 else f"{second:02d}-{first:02d}"
    return "today"  # tonight, today, midnight, noon, last day, end of the day


def _bundle_detail(m: re.Match) -> str:
    low = re.sub(r"\s+", " ", m.group(0).lower())
    if low.startswith("bogo"):
        return "buy 1 get 1 free"
    if m.group("buy"):
        buy = WORD_NUMBERS.get(m.group("buy").lower()) or m.group("buy")
        get = m.group("get").lower()
        get = 1 if get.startswith("the") else WORD_NUMBERS.get(get) or get
        how = "free" if m.group("how").lower() == "free" else m.group("how").lower().replace("-", " ")
        return f"buy {buy} get {get} {how}"
    if m.group("x"):
        x, y = str(WORD_NUMBERS.get(m.group("x").lower(), m.group("x"))), re.sub(r"[^0-9.]", "", m.group("y"))
        if m.group("y").isdigit() and int(y) < int(x):
            return f"buy {y} get {int(x) - int(y)} free"  # "3 for 2" is "buy 2 get 1 free"
        return f"{x} for {y}"
    if m.group("x2"):  # "four bags for the price of three" is "buy 3 get 1 free"
        x, y = (WORD_NUMBERS.get(g.lower()) or float(g.replace(",", "")) for g in (m.group("x2"), m.group("y2")))
        return f"buy {y:g} get {x - y:g} free" if y < x else f"{x:g} for the price of {y:g}"
    return re.sub(r"\b(?:2nd|second)\b", "second", low)


_SAME_LENGTH = str.maketrans({"\u2018": "'", "\u2019": "'", "\u2013": "-", "\u2014": "-", "\u2011": "-"})


_RANGE_JOIN = re.compile(r"\s*(?:%|percent|per\s?cent)?\s*(?:-|\bto\b)\s*$", re.IGNORECASE)
_RANGE_HEAD = re.compile(r"(?<![\d.,$£€¥])(?P<low>\d{1,2})\s*(?:-|\bto\b)\s*$", re.IGNORECASE)
_RANGE_TAIL = re.compile(r"\s*(?:-|\bto\b)\s*(?=\d)", re.IGNORECASE)


def _percent_discount(found: _Found, m: re.Match, text: str, p: _Patterns, loc: Locale) -> None:
    """A percentage discount, as a range where it is one: "Save 50% to 70% off" and "Save 20%-60%" claim up
    to the larger figure, and a cap rewrites each figure over it. Figures not joined by "to" or a dash are
    separate ("100% cotton, 20% off" claims 20%)."""
    start, end = m.span()
    while (tail := _RANGE_TAIL.match(text, end)) and (more := p.percent.match(text, tail.end())):
        end = more.end()
    figures = list(p.percent.finditer(text, start, end))
    if not figures:
        return
    first = len(figures) - 1  # the range the discount's own words sit next to: the last one
    while first > 0 and _RANGE_JOIN.match(text[figures[first - 1].end("pct"):figures[first].start()]):
        first -= 1
    spans = tuple((*f.span("pct"), _percent_value(f.group("pct"), loc)) for f in figures[first:])
    if first > 0:
        start = figures[first].start()
    if head := _RANGE_HEAD.search(text, max(0, figures[first].start() - 12), figures[first].start()):
        spans = ((*head.span("low"), _percent_value(head.group("low"), loc)), *spans)  # "50 to 70% off"
        start = min(start, head.start())
    found.claims.append(Claim(DISCOUNT, text[start:end], start, end, max(v for _, _, v in spans), "%", "", spans))


def percent_discounts(claims: list[Claim]) -> list[Claim]:
    """The discounts stated as a percentage ("20% off", "half price"), the ones a brand's cap limits."""
    return [c for c in claims if c.kind == DISCOUNT and c.unit == "%" and c.value is not None]


def _spans_overlap(a: Claim, b: Claim) -> bool:
    return a.start < b.end and b.start < a.end


def extract_claims(text: str, locale: str = "en") -> list[Claim]:
    """Every claim in `text`, in reading order; overlapping readings resolved by PRIORITY."""
    p, loc = _pattern_set(locale)
    text = text.translate(_SAME_LENGTH)  # typographic quotes and dashes as plain ones; spans stay valid
    found = _Found()
    for regex in (*p.discount_after, p.discount_before):
        for m in regex.finditer(text):
            _percent_discount(found, m, text, p, loc)
    for m in p.discount_amount.finditer(text):
        found.add(DISCOUNT, m, _money_value(m, loc, "damt", "damt2", "amt", "amt2"), "amount")
    for m in p.half.finditer(text):
        fraction = (m.group("f") or m.group("f2") or "").lower()
        found.add(DISCOUNT, m, {"1/3": 33.3, "third": 33.3, "1/4": 25.0, "quarter": 25.0}.get(fraction, 50.0), "%")
    for m in p.bundle.finditer(text):
        found.add(DISCOUNT, m, None, "bundle", _bundle_detail(m))
    for m in p.money.finditer(text):
        before = text[max(0, m.start() - 30):m.start()].lower()
        role = ("threshold" if re.search(r"\b(?:over|above|more\s+than|spend(?:ing)?|orders?\s+(?:of|from)|minimum|min\.?"
                                         r"|at\s+least|when\s+you\s+spend|purchases?\s+of)\s*$", before)
                else "was" if re.search(r"\b(?:was|were|rrp|regularly|usually|originally|normally|compare\s+at|"
                                        r"worth|valued\s+at|value|retail)\s*$", before) else "price")
        found.add(PRICE, m, _money_value(m, loc, "amt", "amt2"), "", role)
    for regex in p.deadlines:
        for m in regex.finditer(text):
            before = text[max(0, m.start() - 40):m.start()]
            if _HOURS_BEFORE.search(before) or _DELIVERY_AFTER.match(text[m.end():]):
                continue
            delivery = _DELIVERY_BEFORE.search(before)
            if delivery and not (delivery.group(0).lower().startswith("get") and m.group(0).lower().startswith("before")):
                continue  # "get it by Friday" is delivery; "get it before Tuesday, when the sale ends" the offer
            if _ORDER_BEFORE.search(before) and _DELIVERY_WORDS.search(text):
                continue  # "Delivered by Wednesday, order before 3pm": an order cut-off
            found.add(DEADLINE, m, None, "", _deadline_detail(m.group(0)))
    for m in p.offer_window.finditer(text):  # "20% off for 48 hours": the offer's window, not a duration
        if _OFFER_BEFORE.search(text[max(0, m.start() - 30):m.start()]):
            found.add(DEADLINE, m, None, "", _deadline_detail(m.group(0)))
    for m in p.urgency_stock.finditer(text):
        found.add(URGENCY, m, detail="stock")
    for m in p.urgency_time.finditer(text):
        said = m.group(0).lower()
        if said == "hurry" and re.match(r"\s+(?:home|back|over|down|along|inside)\b", text[m.end():], re.IGNORECASE):
            continue  # "hurry home": a movement, not haste about an offer
        if said == "quick" or (said.startswith("don") and not said.endswith("out") and
                               not re.match(r"\s*(?:it\b|this\b|the\b|our\b|these\b|[.!,\d$£€]|$)", text[m.end():])):
            continue  # "quick" alone is a speed ("quick-dry"); "don't miss" needs an offer to miss
        found.add(URGENCY, m, detail="time")
    for m in p.shipping.finditer(text):
        found.add(SHIPPING, m, detail="shipping+returns" if "return" in m.group(0).lower() else "shipping")
    for m in p.returns.finditer(text):
        if m.group("ret"):  # "free 30-day returns": the claim is the returns; "30-day" stays a quantity
            found.claims.append(Claim(SHIPPING, m.group(0), m.start("ret"), m.end("ret"), detail="returns"))
        else:
            found.add(SHIPPING, m, detail="returns")
    for m in p.guarantee.finditer(text):
        if not _NEGATED.search(text[max(0, m.start() - 20):m.start()]):
            found.add(GUARANTEE, m, detail=re.sub(r"[\s-]+", " ", m.group(0).lower()))
    for regex in p.superlatives:
        for m in regex.finditer(text):
            window = text[max(0, m.start() - 25):m.end() + 25]
            local = m.start() - max(0, m.start() - 25)
            if any(n.start() <= local + len(m.group(0)) and n.end() >= local for n in _NEG_BEST.finditer(window)):
                continue
            found.add(SUPERLATIVE, m, detail=re.sub(r"[\s-]+", " ", m.group(0).lower()))
    for regex in p.rating:
        for m in regex.finditer(text):
            raw = next((m.group(g) for g in ("r", "r2", "r3", "r4") if m.groupdict().get(g)), None)
            value = loc.parse_number(raw.replace(",", ".") if loc.decimal == "," else raw) if raw else None
            word = m.groupdict().get("w") or m.groupdict().get("w2")
            if raw is None and word:
                value = float(WORD_NUMBERS[word.lower()])
            found.add(RATING, m, value)
    for regex in (p.quantity, p.spf):
        for m in regex.finditer(text):
            raw = m.group("q") or m.group("q2")
            unit = (m.groupdict().get("u") or ("spf" if m.group(0).lower().startswith("spf") else
                                               "ip" if m.group(0).lower().startswith("ip") else "pack")).lower()
            if unit in ("a", "an") or raw.lower() in ("a", "an"):
                continue
            found.add(QUANTITY, m, _number(raw, loc), "%" if unit in ("%", "percent", "per cent") else unit)
    for m in p.counted_by.finditer(text):
        if _RATED_BEFORE.search(text[max(0, m.start() - 40):m.start()]):
            found.add(QUANTITY, m, _number(m.group("q"), loc), m.group("u").lower())
    return _resolve(found.claims, text)


def _resolve(claims: list[Claim], text: str) -> list[Claim]:
    """One reading per span: by PRIORITY, then the longer span; the same claim found twice is kept once.
    Guarantee words in one sentence make one promise ("Guaranteed dry or your money back")."""
    ranked = sorted(claims, key=lambda c: (PRIORITY.index(c.kind), -(c.end - c.start), c.start))
    kept: list[Claim] = []
    for claim in ranked:
        if not any(_spans_overlap(claim, k) for k in kept):
            kept.append(claim)
    out: list[Claim] = []
    for claim in sorted(kept, key=lambda c: (c.start, c.end)):
        prev = next((c for c in reversed(out) if c.kind == GUARANTEE), None)
        if claim.kind == GUARANTEE and prev is not None and not re.search(r"[.!?;]", text[prev.end:claim.start]):
            continue
        out.append(claim)
    return out
