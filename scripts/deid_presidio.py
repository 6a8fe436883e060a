#!/usr/bin/env python3
# deid_presidio.py — Microsoft Presidio's analyzer over the corpus of scripts/deid_corpus.py, the
# peer of `suanli bench deid`: pattern recognizers for the kinds suanli finds (regexes equivalent
# to suanli's detectors, with the same check digits through python-stdnum), Presidio's built-in
# EMAIL_ADDRESS, IP_ADDRESS, CREDIT_CARD and PHONE_NUMBER (region CN) recognizers, and a blank
# spaCy pipeline (`spacy.blank("zh")`, character segmenter, no trained model, nothing downloaded).
#
#   python deid_presidio.py --corpus corpus.jsonl [--runs 3]
#
# Times `AnalyzerEngine.analyze` over every record's text (one process, one core) and prints one
# JSON object on stdout: bytes, seconds of each run, MB/s of the median run, and precision,
# recall and F1 per kind against the corpus labels (a found span counts when kind and offsets match).
import argparse
import importlib.metadata
import json
import statistics
import sys
import time

import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IpRecognizer,
    PhoneRecognizer,
)
from stdnum import luhn
from stdnum.cn import ric, uscc

LANG = "zh"
# Presidio's e-mail check asks tldextract, which fetches the public suffix list unless told to
# use the snapshot it ships: nothing may be downloaded at run time.
tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

# Boundaries: `\b` does not separate a digit from a Chinese character (both are word characters),
# so identifiers glued to Chinese text need ASCII-only lookarounds.
B, E = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
ALNUM = "0-9A-HJ-NPQRTUWXY"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪"
    "庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封谈匡鞠惠荆乐冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻厉伊仝郜阚花权帅屠朴盖练廉禹井祖"
    "漆巴丰卿狄计索宣晋初芮都阙浦戈伏鹿薄邸雍辜裘亓修邰赫杭况宿逯隆茹诸慕嵇湛宾戎勾茅揭檀衣展昝智幸奉衡富尧"
)
NAME_BEFORE = ["姓名", "联系人", "收件人", "收货人", "申请人", "患者", "户主", "法定代表人", "负责人", "经办人", "持卡人", "当事人"]
PLACES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|"
    "甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门|杭州|宁波|温州|南京|苏州|广州|深圳|成都|武汉|西安|郑州|长沙|合肥|福州|"
    "厦门|济南|青岛|沈阳|大连|长春|哈尔滨|石家庄|太原|南昌|昆明|贵阳|南宁|海口|兰州|西宁|银川|乌鲁木齐|拉萨|呼和浩特"
)
NAME = f"(?:{'|'.join(f'(?<={w}[：:]?)' for w in NAME_BEFORE)})[{SURNAMES}][\u4e00-\u9fa5]{{1,2}}|[{SURNAMES}][\u4e00-\u9fa5]{{1,2}}(?=先生|女士|小姐)"


class Checked(PatternRecognizer):
    """A pattern recognizer whose matches must pass a check (a check digit)."""

    def __init__(self, entity, regex, check, score=0.6):
        super().__init__(supported_entity=entity, patterns=[Pattern(entity.lower(), regex, score)], supported_language=LANG)
        self.check = check

    def validate_result(self, pattern_text):
        return bool(self.check(pattern_text))


def resident_id_ok(s):
    try:
        return ric.calc_check_digit(s) == s[-1].upper() and ric.get_birth_date(s) is not None
    except Exception:
        return False


def recognizers():
    date = r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    ours = [
        Checked("RESIDENT_ID", B + r"[1-9]\d{5}" + date + r"\d{3}[\dXx]" + E, resident_id_ok),
        Checked("USCC", B + f"[1-9]\\d{{7}}[{ALNUM}]{{10}}" + E, uscc.is_valid),
        Checked("BANK_CARD", B + r"(?:(?:62|60|35)\d{14,17}|4\d{15}|4\d{18}|5[1-5]\d{14})" + E, luhn.is_valid),
        Checked("MOBILE", B + r"1[3-9]\d{9}" + E, bool),
        Checked("LANDLINE", r"(?:\(0\d{2,3}\)|" + B + r"0\d{2,3}-)[2-9]\d{6,7}" + E, bool),
        Checked("PLATE", r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][-·]?[A-HJ-NP-Z0-9]{5,6}" + E, bool),
        Checked("PASSPORT", B + r"(?:[EGDSPHM]\d{8}|E[A-HJ-NP-Z]\d{7})" + E, bool),
        Checked("PERSON", NAME, bool),
        Checked("LOCATION", f"(?:{PLACES})[\u4e00-\u9fa5A-Za-z0-9#-]{{0,40}}[路街道巷弄号村组栋幢座室楼层苑]", bool, 0.5),
    ]
    builtin = [
        EmailRecognizer(supported_language=LANG),
        IpRecognizer(supported_language=LANG),
        CreditCardRecognizer(supported_language=LANG),
        PhoneRecognizer(supported_language=LANG, supported_regions=("CN",)),
    ]
    return ours + builtin


def kind_of(entity, text):
    """Presidio's entity type as a suanli kind."""
    if entity == "IP_ADDRESS":
        return "ipv6" if ":" in text else "ipv4"
    if entity == "PHONE_NUMBER":
        return "mobile" if text.lstrip("+86 ").startswith("1") else "landline"
    return {
        "RESIDENT_ID": "resident_id",
        "USCC": "uscc",
        "BANK_CARD": "bank_card",
        "CREDIT_CARD": "bank_card",
        "MOBILE": "mobile",
        "LANDLINE": "landline",
        "EMAIL_ADDRESS": "email",
        "PLATE": "plate",
        "PASSPORT": "passport",
        "PERSON": "name",
        "LOCATION": "address",
    }.get(entity)


def engine():
    nlp = SpacyNlpEngine(models=[{"lang_code": LANG, "model_name": "blank"}])
    # A blank pipeline instead of a trained model: the engine is handed it loaded, so
    # SpacyNlpEngine.load (which would download a model) never runs.
    nlp.nlp = {LANG: spacy.blank(LANG)}
    registry = RecognizerRegistry(supported_languages=[LANG])
    for r in recognizers():
        registry.add_recognizer(r)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANG])


def score(found, labelled):
    """Precision, recall and F1 per kind (and counts) from sets of (record, start, end, kind)."""
    out = {}
    for kind in sorted({k for *_, k in labelled} | {k for *_, k in found}):
        f = {s for s in found if s[3] == kind}
        lab = {s for s in labelled if s[3] == kind}
        tp = len(f & lab)
        p = tp / len(f) if f else 1.0
        r = tp / len(lab) if lab else 1.0
        out[kind] = {
            "labelled": len(lab),
            "found": len(f),
            "true_positives": tp,
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    records = [json.loads(line) for line in open(a.corpus, encoding="utf-8")]
    texts = [r["text"] for r in records]
    size = sum(len(t.encode("utf-8")) for t in texts)
    labelled = {(i, s["start"], s["end"], s["kind"]) for i, r in enumerate(records) for s in r["spans"]}
    analyzer = engine()
    analyzer.analyze(texts[0], language=LANG)  # warm up (compiles the patterns)
    seconds, found = [], set()
    for run in range(max(1, a.runs)):
        found = set()
        t0 = time.perf_counter()
        for i, text in enumerate(texts):
            for res in analyzer.analyze(text, language=LANG):
                kind = kind_of(res.entity_type, text[res.start : res.end])
                if kind:
                    found.add((i, res.start, res.end, kind))
        seconds.append(time.perf_counter() - t0)
        print(f"deid_presidio: run {run + 1}: {size / 1e6 / seconds[-1]:.3f} MB/s", file=sys.stderr)
    median = statistics.median(seconds)
    report = {
        "presidio_analyzer": importlib.metadata.version("presidio-analyzer"),
        "records": len(texts),
        "bytes": size,
        "seconds": seconds,
        "mb_per_s": size / 1e6 / median,
        "kinds": score(found, labelled),
    }
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
