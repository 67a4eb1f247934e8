"""The country a plan is written in, for the one thing it decides: the order of a numeric date.

"04/05/2025" is 4 May in the UK and 5 April in the United States. A file's own dates usually
settle it (a "25/07/2025" can only be day-first); when none does, the plan's country does
(`plan set --country`, else the organisation's, `org set --country`, else GB: this product's
users are UK councils).
"""

from __future__ import annotations

from bot.domain.model import InvalidValue

DEFAULT_COUNTRY = "GB"

# ISO 3166-1 alpha-2 codes.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
# Countries whose numeric dates are written month first (the United States and the places that
# follow its usage); everywhere else writes day first, or year first (which is never ambiguous).
MONTH_FIRST_COUNTRIES = frozenset("US AS GU MP PR UM VI FM MH PW PH".split())


def normalise_country(text: str) -> str:
    """"gb", " GB ", "uk" -> "GB"; anything that is not a two-letter ISO 3166 code is refused."""
    code = (text or "").strip().upper()
    if code == "UK":
        code = "GB"
    if code not in COUNTRIES:
        raise InvalidValue(f"country {text.strip()[:20]!r} is not a two-letter ISO 3166 country code such as GB, IE or US")
    return code


def numeric_order(country: str) -> str:
    """"mdy" where numeric dates are written month first, else "dmy"."""
    return "mdy" if country in MONTH_FIRST_COUNTRIES else "dmy"
