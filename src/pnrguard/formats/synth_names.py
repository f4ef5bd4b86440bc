"""Synthetic person names from many cultures, romanised the way carriers send them.

Why this exists: a PIU's parsers, screening and benchmarks must be exercised with the names
real traffic carries, not with "JOHN SMITH". Carriers send names in upper-case ASCII (the
reservation systems and ICAO Doc 9303 machine-readable zones allow nothing else), so an
Arabic, Russian, Greek or Chinese name arrives already transliterated, a Vietnamese or
Polish one without its diacritics, an Irish one with its apostrophe (O'BRIEN, which the
EDIFACT writer must release as `O?'BRIEN`), particles either glued or spaced (AL-RASHID,
VAN DER MEER, DE LA CRUZ) and hyphens kept (JEAN-PIERRE).

The tables hold each name in its native spelling where a mechanical romanisation is how
carriers really get it (Cyrillic, Greek, Han, Latin with diacritics), and in the usual
passport romanisation where it is not (Arabic, Japanese, Korean: no machine rule gives
MOHAMMED, SATO or KIM). `PersonName` keeps both forms, so a screening benchmark can test
transliteration as well as spelling variants.

Everything is driven by a `random.Random` passed in or built from a seed: same seed, same
names, on every platform and Python version (Random's seeding of int is stable).
"""

# Seeded, non-cryptographic randomness is the point: synthetic data must be reproducible.
# ruff: noqa: S311

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from anyascii import anyascii

__all__ = [
    "CULTURES",
    "Culture",
    "PersonName",
    "random_person",
    "romanise",
    "synthetic_person_names",
]


def _t(text: str) -> tuple[str, ...]:
    """A table from a compact "|"-separated literal (keeps the data readable and short)."""
    return tuple(part.strip() for part in text.split("|") if part.strip())


@dataclass(frozen=True, slots=True)
class Culture:
    """Name tables of one naming culture and the nationalities that carry them.

    `nationalities` are ISO 3166-1 alpha-3 codes (as SSR DOCS and PAXLST send them), the
    first being the commonest. `script` says how `romanise` must treat the tables.
    """

    key: str
    nationalities: tuple[str, ...]
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    script: str = "latin"  # latin, cyrillic, greek, han, romanised
    double_given_rate: float = 0.0  # JOSE LUIS, MARIA JOSE ...
    double_surname_rate: float = 0.0  # Spanish two surnames


@dataclass(frozen=True, slots=True)
class PersonName:
    """One synthetic person: the carrier form (what a PNR carries) and the native form."""

    culture: str
    gender: str  # "M" or "F", as DOCS sends it
    given_names: str  # upper-case ASCII, as carriers send it
    surname: str
    native_given_names: str
    native_surname: str
    nationality: str  # ISO 3166-1 alpha-3

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surname}"


# --- romanisation --------------------------------------------------------------------------

_CARRIER_ALLOWED = re.compile(r"[^A-Z '\-]")
_SPACES = re.compile(r" +")
# German-language passports follow ICAO Doc 9303: umlauts become two letters.
_ICAO_UMLAUTS = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# ELOT 743 (Greek passports) differs from a letter-by-letter mapping in a few digraphs.
_GREEK_DIGRAPHS = (
    ("ου", "ou"), ("ού", "ou"), ("ΟΥ", "OU"), ("Ου", "Ou"),
    ("αυ", "av"), ("αύ", "av"), ("Αυ", "Av"), ("ευ", "ev"), ("εύ", "ev"), ("Ευ", "Ev"),
    ("γγ", "ng"), ("γκ", "gk"), ("Μπ", "B"), ("υ", "y"), ("ύ", "y"),
)  # fmt: skip


def romanise(text: str, *, script: str = "latin", icao_umlauts: bool = False) -> str:
    """Upper-case ASCII as a carrier would send `text`: letters, spaces, hyphens, apostrophes.

    Han names get no space between syllables of one name (XIUYING), as on Chinese passports.
    """
    if icao_umlauts:
        text = text.translate(_ICAO_UMLAUTS)
    if script == "cyrillic":  # ICAO Doc 9303 drops the soft sign; anyascii would write "'"
        text = text.translate({ord(c): None for c in "ЬьЪъ"})
    if script == "greek":
        for src, dst in _GREEK_DIGRAPHS:
            text = text.replace(src, dst)
    text = text.replace("’", "'")
    ascii_text = anyascii(text).upper()
    ascii_text = _CARRIER_ALLOWED.sub("", ascii_text)
    return _SPACES.sub(" ", ascii_text).strip(" -")


def _feminine_surname(culture: str, surname: str) -> str:
    """Slavic and Greek surnames take a feminine form; applied to the native spelling."""
    if culture == "russian":
        if surname.endswith("ий"):
            return surname[:-2] + "ая"
        if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
            return surname + "а"
    elif culture == "polish":
        for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
            if surname.endswith(male):
                return surname[: -len(male)] + female
    elif culture == "greek":
        for male, female in (("όπουλος", "οπούλου"), ("ος", "ου"), ("ης", "η"), ("ας", "α")):
            if surname.endswith(male):
                return surname[: -len(male)] + female
    return surname


# --- the tables ----------------------------------------------------------------------------

CULTURES: dict[str, Culture] = {
    c.key: c
    for c in (
        Culture(
            "arabic",
            _t("SAU|ARE|EGY|JOR|MAR|LBN|IRQ|QAT|TUN|DZA|KWT|OMN"),
            _t(
                "MOHAMMED|MUHAMMAD|AHMED|ALI|OMAR|KHALID|YOUSSEF|HASSAN|HUSSEIN|IBRAHIM|ABDULLAH|"
                "MAHMOUD|MUSTAFA|SAID|TARIQ|KARIM|FAISAL|SAMI|NASSER|WALID|HAMZA|BILAL|ZIAD|RAMI|"
                "JAMAL|ADNAN|ABDULRAHMAN|MOHAMED|YASSER|MAJID"
            ),
            _t(
                "FATIMA|AISHA|MARYAM|LAYLA|NOUR|HALA|RANIA|SALMA|YASMIN|ZAINAB|HANAN|AMAL|DINA|"
                "LEILA|SAMIRA|MONA|REEM|SARA|HIBA|NADIA|LINA|RANA|SUHA|KHADIJA|ASMA|GHADA|NOURA"
            ),
            _t(
                "AL-RASHID|AL-FARSI|AL-HASHIMI|AL-SAYED|EL-MASRI|AL-QAHTANI|AL-OTAIBI|AL-ZAHRANI|"
                "AL-GHAMDI|AL-SHAMSI|AL-MANSOURI|HADDAD|KHOURY|NASSAR|SALEH|HAMDAN|ABBAS|AZIZ|BAKR|"
                "MANSOUR|YOUSEF|IBRAHIM|HASSAN|OTHMAN|SULEIMAN|KHALIL|DARWISH|FARAH|ISMAIL|JABER|"
                "SHARIF|ABDELAZIZ|BEN ALI|BENNANI|EL AMRANI|ABU-ZAID|AL-TAMIMI|QASSEM|SABBAGH|TAHA|"
                "ZAYED|AL-KUWARI|BIN LADEN|AL SAUD"
            ),
            script="romanised",
            double_given_rate=0.15,
        ),
        Culture(
            "russian",
            _t("RUS|RUS|RUS|UKR|KAZ|BLR"),
            _t(
                "Александр|Дмитрий|Максим|Сергей|Андрей|Алексей|Артём|Илья|Кирилл|Михаил|Никита|"
                "Матвей|Роман|Егор|Арсений|Иван|Денис|Евгений|Даниил|Тимофей|Владимир|Павел|"
                "Николай|Юрий|Олег|Вячеслав|Григорий"
            ),
            _t(
                "Анастасия|Мария|Дарья|Анна|Елизавета|Полина|Виктория|Екатерина|Софья|Александра|"
                "Ксения|Алина|Вероника|Татьяна|Ольга|Наталья|Ирина|Светлана|Юлия|Елена|Людмила|"
                "Галина|Валерия|Кристина|Жанна|Любовь"
            ),
            _t(
                "Иванов|Смирнов|Кузнецов|Попов|Васильев|Петров|Соколов|Михайлов|Новиков|Фёдоров|"
                "Морозов|Волков|Алексеев|Лебедев|Семёнов|Егоров|Павлов|Козлов|Степанов|Николаев|"
                "Орлов|Андреев|Макаров|Никитин|Захаров|Зайцев|Соловьёв|Борисов|Яковлев|Григорьев|"
                "Романов|Воробьёв|Сергеев|Кузьмин|Фролов|Александров|Дмитриев|Королёв|Гусев|"
                "Киселёв|Ильин|Максимов|Поляков|Сорокин|Щербаков|Жуков|Хабибуллин|Достоевский"
            ),
            script="cyrillic",
        ),
        Culture(
            "greek",
            _t("GRC|GRC|GRC|CYP"),
            _t(
                "Γεώργιος|Ιωάννης|Κωνσταντίνος|Δημήτριος|Νικόλαος|Παναγιώτης|Βασίλειος|Χρήστος|"
                "Αθανάσιος|Μιχαήλ|Ευάγγελος|Σπυρίδων|Αντώνιος|Αναστάσιος|Θεόδωρος|Ανδρέας|"
                "Χαράλαμπος|Αλέξανδρος|Εμμανουήλ|Ηλίας|Σταύρος|Πέτρος|Στέφανος|Άγγελος|Φώτιος"
            ),
            _t(
                "Μαρία|Ελένη|Αικατερίνη|Βασιλική|Σοφία|Αγγελική|Γεωργία|Δήμητρα|Κωνσταντίνα|"
                "Παρασκευή|Ευαγγελία|Χριστίνα|Ιωάννα|Αναστασία|Ειρήνη|Παναγιώτα|Θεοδώρα|Αλεξάνδρα|"
                "Σταυρούλα|Δέσποινα|Χρυσούλα|Αθηνά|Νικολέτα|Φωτεινή|Ζωή"
            ),
            _t(
                "Παπαδόπουλος|Παπαδάκης|Γεωργίου|Οικονόμου|Παπαγεωργίου|Βασιλείου|Νικολάου|"
                "Καραγιάννης|Ιωάννου|Κωνσταντίνου|Δημητρίου|Αθανασίου|Μακρής|Παππάς|Αντωνίου|"
                "Χριστοδούλου|Αλεξίου|Κυριακίδης|Σταυρόπουλος|Πετρόπουλος|Ζαχαρίου|Μιχαηλίδης|"
                "Αναστασίου|Θεοδωρόπουλος|Κουτσούκος|Ρίζος|Λαμπρόπουλος|Σπυρόπουλος|Τσιρίγος|"
                "Μαυρίδης|Καλογεράκης|Φραγκιαδάκης|Δημόπουλος|Κωστόπουλος|Χατζηδάκης|"
                "Παναγιωτόπουλος|Αγγελόπουλος|Ευαγγέλου|Μπακογιάννης|Βλάχος|Γιαννόπουλος|"
                "Τζανετάκης"
            ),
            script="greek",
        ),
        Culture(
            "chinese",
            _t("CHN|CHN|CHN|CHN|TWN|SGP|HKG|MYS"),
            _t(
                "伟|强|磊|军|洋|勇|杰|涛|明|超|浩然|子轩|宇航|俊杰|志强|建华|国强|文博|家豪|思远|"
                "天宇|明辉|晓东|振宇|博文|立新"
            ),
            _t(
                "芳|娜|敏|静|丽|艳|娟|霞|秀英|桂英|玉兰|婷婷|欣怡|雨涵|梓涵|诗涵|佳怡|晓燕|美玲|"
                "丽华|雪梅|慧敏|思琪|一诺|春花"
            ),
            _t(
                "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|唐|许|韩|"
                "冯|邓|曹|彭|肖|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|欧阳|司马"
            ),
            script="han",
        ),
        Culture(
            "japanese",
            _t("JPN"),
            _t(
                "HIROSHI|TAKASHI|KENJI|YUKI|HARUTO|SOTA|YUTO|RIKU|REN|KAITO|DAIKI|SHOTA|KENTA|"
                "TAKUYA|RYOTA|KAZUKI|NAOKI|SHUN|YUSUKE|TATSUYA|MASAHIRO|HIDEKI|KOJI|TETSUYA|"
                "SATOSHI|ICHIRO"
            ),
            _t(
                "YUI|AOI|HINA|SAKURA|MIO|YUNA|RIN|MIYU|HARUKA|AYAKA|MISAKI|NANAMI|KAORI|YUKO|"
                "TOMOKO|AKIKO|EMI|MAI|AI|NAOMI|KEIKO|MEGUMI|SAYAKA|ERIKA|HANAKO"
            ),
            _t(
                "SATO|SUZUKI|TAKAHASHI|TANAKA|WATANABE|ITO|YAMAMOTO|NAKAMURA|KOBAYASHI|KATO|"
                "YOSHIDA|YAMADA|SASAKI|YAMAGUCHI|MATSUMOTO|INOUE|KIMURA|HAYASHI|SHIMIZU|YAMAZAKI|"
                "MORI|ABE|IKEDA|HASHIMOTO|YAMASHITA|ISHIKAWA|NAKAJIMA|MAEDA|FUJITA|OGAWA|GOTO|"
                "OKADA|HASEGAWA|MURAKAMI|KONDO|ISHII|SAITO|SAKAMOTO|ENDO|AOKI|FUJII|NISHIMURA|"
                "FUKUDA|OTA"
            ),
            script="romanised",
        ),
        Culture(
            "korean",
            _t("KOR"),
            _t(
                "MINJUN|SEOJUN|DOYUN|JIHO|JIHOON|JUNWOO|HYUNWOO|GEONWOO|WOOJIN|SUNWOO|SEUNGHYUN|"
                "DONGHYUN|JAEHYUN|SANGWOO|YOUNGHO|SUNGMIN|JINWOO|TAEYANG|KYUNGSOO|MINHO|JAE-SUK|"
                "SEUNG-HOON|YOUNG-SOO|DONG-HYUK|TAE WOO"
            ),
            _t(
                "SEOYEON|SEOYOON|JIWOO|SEOHYUN|MINSEO|HAEUN|HAYOON|JIMIN|SOYEON|YEJIN|EUNJI|SUJIN|"
                "HYEJIN|JIYEON|MINJI|YUNA|SOOJIN|EUNBI|DAHYUN|CHAEWON|HYE-JIN|MI-KYUNG|EUN-JUNG|"
                "SO-HEE|JI YOUNG"
            ),
            _t(
                "KIM|LEE|PARK|CHOI|JUNG|KANG|CHO|YOON|JANG|LIM|HAN|OH|SEO|SHIN|KWON|HWANG|AHN|"
                "SONG|JEON|HONG|YOO|KO|MOON|YANG|SON|BAE|BAEK|HEO|NAM|SIM|NOH|HA|KWAK|SUNG|CHA|"
                "JOO|WOO|KOO|MIN|RYU|NA|JIN|CHUNG|YU|NAMGOONG"
            ),
            script="romanised",
        ),
        Culture(
            "vietnamese",
            _t("VNM"),
            _t(
                "Văn An|Văn Hùng|Minh Tuấn|Đức Anh|Quốc Bảo|Hoàng Long|Thanh Tùng|Văn Nam|"
                "Minh Khoa|Gia Huy|Đức Minh|Quang Hải|Tiến Dũng|Văn Thành|Hữu Phước|Công Vinh|"
                "Duy Khánh|Trung Kiên|Bảo Long|Anh Khoa|Hải Đăng|Nhật Minh|Thành Đạt|Phúc Lâm|"
                "Văn Lợi|Quốc Việt"
            ),
            _t(
                "Thị Lan|Thị Hoa|Thị Mai|Ngọc Anh|Thu Trang|Thanh Hương|Thị Hằng|Minh Châu|"
                "Phương Linh|Bảo Ngọc|Thùy Dung|Khánh Linh|Thị Thu|Hồng Nhung|Thị Ngọc|Kim Oanh|"
                "Lan Anh|Thảo Vy|Mỹ Duyên|Diệu Linh|Thị Tuyết|Hà My|Quỳnh Anh|Thị Hạnh|Bích Ngọc"
            ),
            _t(
                "Nguyễn|Trần|Lê|Phạm|Hoàng|Huỳnh|Phan|Vũ|Võ|Đặng|Bùi|Đỗ|Hồ|Ngô|Dương|Lý|Đinh|"
                "Trương|Lâm|Mai|Đoàn|Cao|Lương|Tạ|Tô|Hà|Quách|Châu|Kiều|Thái|Triệu|Chu|Lục|Tăng|"
                "Từ|Khúc|Âu|Doãn|Giang|Mạc|Tôn|Lưu|Văn|Trịnh"
            ),
        ),
        Culture(
            "turkish",
            _t("TUR|TUR|TUR|DEU|NLD|AZE"),
            _t(
                "Mehmet|Mustafa|Ahmet|Ali|Hüseyin|Hasan|İbrahim|İsmail|Osman|Yusuf|Murat|Ömer|"
                "Ramazan|Halil|Süleyman|Abdullah|Mahmut|Recep|Emre|Burak|Oğuz|Yiğit|Çağrı|Kerem|"
                "Serkan|Barış"
            ),
            _t(
                "Fatma|Ayşe|Emine|Hatice|Zeynep|Elif|Meryem|Şerife|Sultan|Zehra|Hanife|Merve|"
                "Havva|Zeliha|Esra|Fadime|Özlem|Hacer|Melek|Yasemin|Büşra|Gül|Derya|Ebru|Gökçe"
            ),
            _t(
                "Yılmaz|Kaya|Demir|Çelik|Şahin|Yıldız|Yıldırım|Öztürk|Aydın|Özdemir|Arslan|Doğan|"
                "Kılıç|Aslan|Çetin|Kara|Koç|Kurt|Özkan|Şimşek|Polat|Özcan|Korkmaz|Çakır|Erdoğan|"
                "Yavuz|Can|Acar|Şen|Aktaş|Güler|Yalçın|Güneş|Bozkurt|Bulut|Keskin|Ünal|Turan|"
                "Gül|Özer|Işık|Kaplan|Avcı|Sarı"
            ),
        ),
        Culture(
            "polish",
            _t("POL"),
            _t(
                "Piotr|Krzysztof|Andrzej|Tomasz|Paweł|Jan|Michał|Marcin|Jakub|Adam|Łukasz|Marek|"
                "Grzegorz|Mateusz|Wojciech|Mariusz|Dariusz|Zbigniew|Maciej|Rafał|Kamil|Szymon|"
                "Bartłomiej|Przemysław|Sebastian|Jerzy"
            ),
            _t(
                "Anna|Maria|Katarzyna|Małgorzata|Agnieszka|Barbara|Ewa|Krystyna|Magdalena|Elżbieta|"
                "Joanna|Aleksandra|Zofia|Monika|Teresa|Danuta|Natalia|Karolina|Marta|Beata|Dorota|"
                "Jadwiga|Halina|Grażyna|Wiktoria"
            ),
            _t(
                "Nowak|Kowalski|Wiśniewski|Wójcik|Kowalczyk|Kamiński|Lewandowski|Zieliński|"
                "Szymański|Woźniak|Dąbrowski|Kozłowski|Jankowski|Mazur|Wojciechowski|Kwiatkowski|"
                "Krawczyk|Kaczmarek|Piotrowski|Grabowski|Zając|Pawłowski|Michalski|Król|Wieczorek|"
                "Jabłoński|Wróbel|Nowakowski|Majewski|Olszewski|Stępień|Malinowski|Jaworski|"
                "Adamczyk|Dudek|Nowicki|Pawlak|Górski|Witkowski|Walczak|Sikora|Rutkowski|Baran|"
                "Szewczyk|Ostrowski|Brzęczyszczykiewicz|Sadowski-Nowak"
            ),
        ),
        Culture(
            "nigerian",
            _t("NGA|NGA|NGA|GBR"),
            _t(
                "CHUKWUEMEKA|OLUWASEUN|BABAJIDE|EMEKA|IKECHUKWU|OLUMIDE|ADEBAYO|OBINNA|TUNDE|"
                "CHINEDU|MUSA|IBRAHIM|ABUBAKAR|SEGUN|FEMI|KAYODE|UCHENNA|NNAMDI|OLUSEGUN|YAKUBU|"
                "ALIYU|CHIDI|KELECHI|DAPO|IFEANYI|GOODLUCK"
            ),
            _t(
                "CHIAMAKA|NGOZI|FUNMILAYO|ADAEZE|OLUWAKEMI|FOLAKE|AMAKA|NNEKA|YETUNDE|BUKOLA|"
                "CHINWE|TITILAYO|AISHA|ZAINAB|HAUWA|BLESSING|PRECIOUS|CHIOMA|IFEOMA|TEMITOPE|"
                "ADAORA|OLAMIDE|EBERE|NKECHI|HALIMA"
            ),
            _t(
                "OKAFOR|ADEYEMI|OKONKWO|BALOGUN|EZE|IBRAHIM|BELLO|ABUBAKAR|OKEKE|NWOSU|ADEBAYO|"
                "OLADIPO|OGUNLEYE|CHUKWU|OLAWALE|UZOMA|OBI|AKINOLA|AFOLABI|ONYEKACHI|NWACHUKWU|"
                "DANJUMA|SULEIMAN|OGUNDIPE|ADEWALE|ANYANWU|EZEH|LAWAL|YUSUF|OJO|OGBONNA|AKANDE|"
                "NNADI|OYELARAN|ONUOHA|SALAMI|IGE|FASHOLA|EKWUEME|OKORO|MOHAMMED|UMAR|AMINU"
            ),
            script="romanised",
            double_given_rate=0.2,
        ),
        Culture(
            "indian",
            _t("IND|IND|IND|GBR|ARE"),
            _t(
                "AARAV|VIVAAN|ADITYA|VIHAAN|ARJUN|SAI|REYANSH|KRISHNA|ISHAAN|ROHAN|RAHUL|AMIT|"
                "RAJESH|SURESH|SANJAY|VIKRAM|ANIL|DEEPAK|MANOJ|RAVI|GURPREET|HARJIT|MOHAMMED|"
                "KARTHIK|VENKATESH|PRADEEP"
            ),
            _t(
                "SAANVI|AANYA|AADHYA|ANANYA|DIYA|PRIYA|POOJA|NEHA|SUNITA|ANJALI|KAVYA|LAKSHMI|"
                "MEERA|DIVYA|SHREYA|DEEPIKA|SWATI|REKHA|NISHA|AISHWARYA|JASPREET|SIMRAN|FATIMA|"
                "RADHIKA|PADMA"
            ),
            _t(
                "SHARMA|VERMA|GUPTA|SINGH|KUMAR|PATEL|SHAH|MEHTA|REDDY|RAO|NAIR|IYER|MENON|PILLAI|"
                "DAS|BANERJEE|CHATTERJEE|MUKHERJEE|BOSE|GHOSH|JOSHI|KULKARNI|DESHPANDE|PATIL|JAIN|"
                "AGARWAL|MALHOTRA|KAPOOR|KHANNA|CHOPRA|BHATIA|SETHI|GILL|SANDHU|DHILLON|NAIDU|"
                "KRISHNAN|SUBRAMANIAN|VENKATARAMAN|CHAUDHARY|YADAV|MISHRA|PANDEY|TIWARI|QURESHI|"
                "FERNANDES|D'SOUZA|D'CRUZ"
            ),
            script="romanised",
        ),
        Culture(
            "spanish",
            _t("ESP|ESP|MEX|COL|ARG|PER|CHL|VEN"),
            _t(
                "José|Antonio|Manuel|Francisco|Juan|David|Javier|Daniel|Carlos|Jesús|Alejandro|"
                "Miguel|Rafael|Pedro|Pablo|Ángel|Sergio|Fernando|Jorge|Luis|Alberto|Álvaro|Diego|"
                "Adrián|Raúl|Iñigo"
            ),
            _t(
                "María|Carmen|Ana|Isabel|Laura|Lucía|Cristina|Marta|Elena|Pilar|Sara|Paula|"
                "Raquel|Rosa|Dolores|Mercedes|Sofía|Beatriz|Julia|Patricia|Nuria|Silvia|Alba|"
                "Inmaculada|Begoña|Ximena"
            ),
            _t(
                "García|Rodríguez|González|Fernández|López|Martínez|Sánchez|Pérez|Gómez|Martín|"
                "Jiménez|Ruiz|Hernández|Díaz|Moreno|Muñoz|Álvarez|Romero|Alonso|Gutiérrez|Navarro|"
                "Torres|Domínguez|Vázquez|Ramos|Gil|Ramírez|Serrano|Blanco|Molina|Morales|Suárez|"
                "Ortega|Delgado|Castro|Ortiz|Rubio|Marín|Sanz|Núñez|Iglesias|De la Cruz|"
                "De la Fuente|Del Río|Ibáñez|Peña"
            ),
            double_given_rate=0.25,
            double_surname_rate=0.6,
        ),
        Culture(
            "french",
            _t("FRA|FRA|FRA|BEL|CHE|CAN|LUX|SEN|CIV"),
            _t(
                "Jean|Pierre|Michel|Philippe|Alain|Nicolas|Christophe|Laurent|Julien|Sébastien|"
                "Thomas|Antoine|Maxime|Hugo|Lucas|Théo|Louis|Gabriel|Arthur|Raphaël|Benoît|"
                "François|Jérôme|Olivier|Jean-Pierre|Jean-Luc"
            ),
            _t(
                "Marie|Nathalie|Isabelle|Sylvie|Catherine|Françoise|Valérie|Sophie|Céline|Camille|"
                "Léa|Manon|Chloé|Emma|Inès|Juliette|Margaux|Élodie|Amélie|Aurélie|Anne-Sophie|"
                "Marie-Claire|Hélène|Geneviève|Zoé"
            ),
            _t(
                "Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Simon|"
                "Laurent|Lefèvre|Michel|Garcia|David|Bertrand|Roux|Vincent|Fournier|Morel|Girard|"
                "André|Lefebvre|Mercier|Dupont|Lambert|Bonnet|François|Martinez|Legrand|Garnier|"
                "Faure|Rousseau|Blanc|Guérin|Muller|Henry|Roussel|Nicolas|D'Alembert|D'Arcy|"
                "De Villepin|Le Gall|Le Goff|Saint-Martin|N'Diaye"
            ),
            double_given_rate=0.1,
        ),
        Culture(
            "german",
            _t("DEU|DEU|DEU|AUT|CHE"),
            _t(
                "Lukas|Leon|Maximilian|Felix|Jonas|Paul|Elias|Noah|Ben|Finn|Thomas|Michael|"
                "Andreas|Stefan|Christian|Markus|Wolfgang|Klaus|Jürgen|Uwe|Dieter|Günter|Matthias|"
                "Tobias|Sebastian|Jörg"
            ),
            _t(
                "Anna|Sophie|Marie|Emma|Mia|Hannah|Lena|Lea|Laura|Julia|Sabine|Petra|Monika|"
                "Ursula|Karin|Andrea|Birgit|Claudia|Susanne|Katrin|Bärbel|Jutta|Gisela|Anneliese|"
                "Käthe"
            ),
            _t(
                "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|"
                "Schäfer|Koch|Bauer|Richter|Klein|Wolf|Schröder|Neumann|Schwarz|Zimmermann|Braun|"
                "Krüger|Hofmann|Hartmann|Lange|Schmitt|Werner|Schmitz|Krause|Meier|Lehmann|Schmid|"
                "Schulze|Maier|Köhler|Herrmann|König|Walter|Mayer|Huber|Kaiser|Fuchs|Peters|Lang|"
                "Scholz|Möller|Weiß|Jung|Hahn|Vogel|von Berg|von der Heide|Groß|Müller-Lüdenscheidt"
            ),
            double_given_rate=0.15,
        ),
        Culture(
            "irish",
            _t("IRL|IRL|IRL|GBR|USA"),
            _t(
                "Seán|Patrick|Liam|Conor|Ciarán|Niall|Cian|Oisín|Darragh|Eoin|Fionn|Cathal|"
                "Declan|Brendan|Colm|Dermot|Pádraig|Ronan|Tadhg|Fergal|Killian|Aidan|Diarmuid|"
                "Éamon|Kevin"
            ),
            _t(
                "Aoife|Siobhán|Niamh|Saoirse|Caoimhe|Sinéad|Orla|Róisín|Aisling|Clodagh|Gráinne|"
                "Eimear|Máire|Bríd|Deirdre|Fiona|Ciara|Emer|Nuala|Sorcha|Áine|Mairéad|Méabh|Úna|"
                "Laoise"
            ),
            _t(
                "O'Brien|O'Sullivan|O'Connor|O'Neill|O'Reilly|O'Donnell|O'Mahony|O'Callaghan|"
                "O'Leary|O'Shea|O'Keeffe|O'Dwyer|O'Doherty|O'Connell|O'Grady|O'Hara|"
                "Ó Súilleabháin|McCarthy|McLoughlin|McNamara|McGrath|MacDonald|MacMahon|McCann|"
                "McDermott|McKenna|McGuinness|Murphy|Kelly|Walsh|Byrne|Ryan|Doyle|Kennedy|Lynch|"
                "Murray|Quinn|Moore|Brennan|Fitzgerald|Fitzpatrick|Gallagher|Daly|Nolan|Kavanagh"
            ),
        ),
        Culture(
            "dutch",
            _t("NLD|NLD|NLD|BEL|SUR"),
            _t(
                "Daan|Sem|Lucas|Levi|Finn|Milan|Bram|Thijs|Jesse|Ruben|Lars|Jeroen|Sander|Bas|"
                "Pieter|Jan|Hendrik|Willem|Maarten|Joost|Wouter|Koen|Stijn|Gijs|Teun"
            ),
            _t(
                "Emma|Julia|Sophie|Tess|Anna|Fenna|Sanne|Lotte|Femke|Eva|Anouk|Lieke|Iris|Noor|"
                "Maud|Sara|Floor|Marieke|Inge|Mirjam|Annelies|Esther|Ilse|Hanneke|Wilhelmina"
            ),
            _t(
                "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|"
                "de Boer|Mulder|de Groot|Bos|Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|"
                "de Wit|Dijkstra|Smits|de Graaf|van der Meer|van der Linden|Kok|Jacobs|de Haan|"
                "Vermeulen|van den Heuvel|van der Veen|van den Broek|de Bruijn|de Bruin|"
                "van der Heijden|Schouten|van Beek|Willems|van Vliet|van de Ven|Hoekstra|Maas|"
                "Verhoeven|Koster|van 't Hof"
            ),
        ),
        Culture(
            "italian",
            _t("ITA|ITA|ITA|CHE|SMR"),
            _t(
                "Giuseppe|Giovanni|Antonio|Mario|Luigi|Francesco|Angelo|Vincenzo|Pietro|Salvatore|"
                "Carlo|Franco|Domenico|Bruno|Paolo|Michele|Giorgio|Aldo|Sergio|Luca|Marco|"
                "Alessandro|Matteo|Lorenzo|Andrea|Niccolò"
            ),
            _t(
                "Maria|Anna|Giuseppina|Rosa|Angela|Giovanna|Teresa|Lucia|Carmela|Caterina|"
                "Francesca|Antonietta|Sofia|Giulia|Aurora|Alice|Ginevra|Emma|Giorgia|Chiara|Elena|"
                "Martina|Valentina|Federica|Beatrice"
            ),
            _t(
                "Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci|Marino|Greco|Bruno|"
                "Gallo|Conti|De Luca|Mancini|Costa|Giordano|Rizzo|Lombardi|Moretti|Barbieri|"
                "Fontana|Santoro|Mariani|Rinaldi|Caruso|Ferrara|Galli|Martini|Leone|Longo|Gentile|"
                "Martinelli|Vitale|Lombardo|Serra|Coppola|De Santis|D'Angelo|D'Amico|Dell'Acqua|"
                "Lo Russo|Di Stefano|La Rosa"
            ),
        ),
    )
}

#: Country (ISO 3166-1 alpha-2, as airportsdata gives it) -> the cultures most likely on a
#: flight touching it. Used by the traffic generator to make passenger mixes plausible.
COUNTRY_CULTURES: dict[str, tuple[str, ...]] = {
    "DE": ("german", "turkish", "polish"), "AT": ("german",), "CH": ("german", "french", "italian"),
    "FR": ("french", "arabic"), "BE": ("french", "dutch"), "LU": ("french", "german"),
    "NL": ("dutch", "turkish"), "IE": ("irish",), "GB": ("irish", "indian", "nigerian"),
    "ES": ("spanish",), "PT": ("spanish",), "IT": ("italian",), "GR": ("greek",), "CY": ("greek",),
    "PL": ("polish",), "CZ": ("polish", "german"), "HU": ("german",), "DK": ("german", "dutch"),
    "SE": ("german", "dutch"), "FI": ("russian",), "NO": ("dutch",), "RO": ("italian",),
    "TR": ("turkish",), "AE": ("arabic", "indian"), "QA": ("arabic", "indian"),
    "SA": ("arabic",), "EG": ("arabic",), "MA": ("arabic", "french"), "JO": ("arabic",),
    "IN": ("indian",), "CN": ("chinese",), "HK": ("chinese",), "SG": ("chinese", "indian"),
    "JP": ("japanese",), "KR": ("korean",), "VN": ("vietnamese",), "TH": ("chinese",),
    "NG": ("nigerian",), "ZA": ("nigerian", "dutch"), "KE": ("nigerian", "indian"),
    "ET": ("nigerian", "arabic"), "US": ("irish", "spanish", "chinese", "indian"),
    "CA": ("french", "irish", "chinese"), "MX": ("spanish",), "BR": ("spanish", "italian"),
    "AR": ("spanish", "italian"), "CO": ("spanish",), "RU": ("russian",), "UA": ("russian",),
    "KZ": ("russian",), "IL": ("russian", "arabic"), "AU": ("irish", "chinese"),
}  # fmt: skip


# --- drawing names -------------------------------------------------------------------------


def _native_given(rng: random.Random, culture: Culture, gender: str) -> str:
    table = culture.male if gender == "M" else culture.female
    first = rng.choice(table)
    if culture.double_given_rate and rng.random() < culture.double_given_rate:
        second = rng.choice(table)
        if second != first:
            return f"{first} {second}"
    return first


def _native_surname(rng: random.Random, culture: Culture, gender: str) -> str:
    surname = rng.choice(culture.surnames)
    if culture.double_surname_rate and rng.random() < culture.double_surname_rate:
        second = rng.choice(culture.surnames)
        if second != surname:
            surname = f"{surname} {second}"
    return _feminine_surname(culture.key, surname) if gender == "F" else surname


def random_person(
    rng: random.Random,
    culture: Culture | str,
    gender: str | None = None,
    *,
    surname: str | None = None,
) -> PersonName:
    """One person of `culture`; pass `surname` (native form) to make a relative of someone.

    The draw order is fixed (gender, given names, surname, nationality), so a given `rng`
    state always yields the same person.
    """
    c = CULTURES[culture] if isinstance(culture, str) else culture
    g = gender if gender in ("M", "F") else rng.choice(("M", "F"))
    native_given = _native_given(rng, c, g)
    if surname is None:
        native_surname = _native_surname(rng, c, g)
    else:
        native_surname = _feminine_surname(c.key, surname) if g == "F" else surname
    nationality = rng.choice(c.nationalities)
    umlauts = c.key == "german"
    given = romanise(native_given, script=c.script, icao_umlauts=umlauts)
    family = romanise(native_surname, script=c.script, icao_umlauts=umlauts)
    return PersonName(
        culture=c.key,
        gender=g,
        given_names=given,
        surname=family,
        native_given_names=native_given,
        native_surname=native_surname,
        nationality=nationality,
    )


def masculine_surname(person: PersonName) -> str:
    """The native surname a relative of `person` inherits (undoes the feminine form)."""
    c = CULTURES[person.culture]
    for s in c.surnames:
        if _feminine_surname(c.key, s) == person.native_surname or s == person.native_surname:
            return s
    return person.native_surname  # a double surname: keep as is


def synthetic_person_names(seed: int, n: int, *, cultures: Sequence[str] | None = None) -> list[PersonName]:
    """`n` synthetic people, cultures drawn evenly (or from `cultures`), reproducible by seed.

    For benchmarks and tests that need realistic, diverse, carrier-form names without
    generating whole bookings (e.g. a screening benchmark's query set).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    keys = list(cultures) if cultures is not None else sorted(CULTURES)
    unknown = [k for k in keys if k not in CULTURES]
    if unknown or not keys:
        raise ValueError(f"unknown cultures: {unknown}" if unknown else "no cultures given")
    rng = random.Random(seed)
    return [random_person(rng, rng.choice(keys)) for _ in range(n)]
