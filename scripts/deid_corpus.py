#!/usr/bin/env python3
# deid_corpus.py — a seeded, labelled corpus of realistic Chinese text for `suanli bench deid`:
# Faker's zh_CN people, addresses, mobiles and resident IDs, credit codes valid under
# python-stdnum, Luhn-valid bank cards, e-mails, IPs, plates, passports and landlines, set in
# sentence templates with decoys (numbers shaped like identifiers that fail their checks).
#
#   python deid_corpus.py --out corpus.jsonl [--mb 8] [--seed 1]
#
# Each line is one record: {"text": "...", "spans": [{"start": 3, "end": 21, "kind": "resident_id"}]}
# with offsets in characters (Unicode code points) of "text", and kinds named as suanli names them.
# Run with the venv of scripts/deid-peers.sh; the same seed gives the same file.
import argparse
import json
import random
import sys

from faker import Faker
from stdnum import luhn
from stdnum.cn import ric, uscc

# Registration authority and organisation type (GB 32100 table 1) of a credit code (digits only:
# python-stdnum wants the first eight characters numeric).
USCC_HEADS = ["11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93"]
# GB 11714 organisation-code alphabet and weights (the code inside a credit code has its own check).
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"

FILLERS = [
    "今天上午办理了相关业务",
    "经核实情况属实",
    "相关材料已经提交审核",
    "请于三个工作日内补充材料",
    "本次申请按照规定流程处理",
    "数据仅用于统计分析",
    "系统已自动生成回执",
    "后续将安排专人跟进",
    "如有疑问请拨打服务热线",
    "该笔业务已完成登记",
    "算力券额度已按比例核定",
    "审批结果将通过短信告知",
]


class Corpus:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.f = Faker("zh_CN")
        self.f.seed_instance(seed)

    # --- values -----------------------------------------------------------------------------
    def resident_id(self):
        # Faker's zh_CN ssn carries a GB 11643 check digit and a real birth date; python-stdnum's
        # ric.validate also asks that the county existed in the birth year, which Faker ignores:
        # check digit and date are what is checked here (and what suanli checks).
        v = self.f.ssn()
        assert ric.calc_check_digit(v) == v[-1] and ric.get_birth_date(v)
        return v

    def uscc(self):
        division = self.f.ssn()[:6]
        body = "".join(self.r.choice(ORG_ALPHABET[:10] if i < 2 else ORG_ALPHABET) for i in range(8))
        check = 11 - sum(ORG_ALPHABET.index(c) * w for c, w in zip(body, ORG_WEIGHTS)) % 11
        org = body + {10: "X", 11: "0"}.get(check, str(check))
        first17 = self.r.choice(USCC_HEADS) + division + org
        v = first17 + uscc.calc_check_digit(first17)
        assert uscc.is_valid(v)
        return v

    def bank_card(self):
        if self.r.random() < 0.5:
            # Faker's zh_CN cards: UnionPay (62), Visa and Mastercard, 16 digits.
            v = self.f.credit_card_number(self.r.choice(["unionpay", "unionpay", "visa", "mastercard"]))
        else:  # UnionPay debit cards also run to 17-19 digits
            n = self.r.choice([17, 18, 19])
            body = "62" + "".join(self.r.choice("0123456789") for _ in range(n - 3))
            v = body + luhn.calc_check_digit(body)
        assert luhn.is_valid(v)
        return v

    def mobile(self):
        return self.f.phone_number()

    def landline(self):
        area = self.r.choice(["010", "021", "022", "023", "020", "0571", "0574", "0755", "0512", "0591", "0731"])
        n = 8 if len(area) == 3 or self.r.random() < 0.6 else 7
        local = str(self.r.randint(2, 8)) + "".join(self.r.choice("0123456789") for _ in range(n - 1))
        return f"{area}-{local}" if self.r.random() < 0.8 else f"({area}){local}"

    def plate(self):
        if self.r.random() < 0.4:
            # Faker's form (浙A-12345) without the letters I and O, which plates never use.
            while True:
                v = self.f.license_plate()
                if v[1] not in "IO":
                    return v
        p, letter = self.r.choice(PLATE_PROVINCES), self.r.choice(PLATE_LETTERS)
        if self.r.random() < 0.3:  # new-energy: D or F and five digits
            return f"{p}{letter}{self.r.choice('DF')}{self.r.randint(0, 99999):05d}"
        serial = [self.r.choice("0123456789") for _ in range(5)]
        if self.r.random() < 0.3:
            serial[self.r.randint(0, 4)] = self.r.choice(PLATE_LETTERS)
        return p + letter + "".join(serial)

    def passport(self):
        if self.r.random() < 0.7:
            return self.r.choice("EG") + f"{self.r.randint(0, 99999999):08d}"
        return "E" + self.r.choice(PLATE_LETTERS) + f"{self.r.randint(0, 9999999):07d}"

    def address(self):
        # Faker: "<province><city><district><street>X座 <postcode>"; the address is before the space.
        return self.f.address().split(" ")[0]

    def value(self, kind):
        f = self.f
        return {
            "resident_id": self.resident_id,
            "uscc": self.uscc,
            "bank_card": self.bank_card,
            "mobile": self.mobile,
            "landline": self.landline,
            "email": f.email,
            "ipv4": f.ipv4_public,
            "ipv6": f.ipv6,
            "plate": self.plate,
            "passport": self.passport,
            "name": f.name,
            "address": self.address,
        }[kind]()

    # --- decoys: shaped like identifiers, failing their checks ---------------------------------
    def decoy(self):
        r = self.r
        k = r.randrange(8)
        if k == 0:
            v = self.resident_id()
            return "编号", v[:17] + r.choice([c for c in "0123456789X" if c != v[-1]])
        if k == 1:
            v = self.resident_id()
            return "档案号", v[:10] + "0230" + v[14:]  # 30 February
        if k == 2:
            v = self.uscc()
            return "合同编号", v[:17] + r.choice([c for c in "0123456789" if c != v[-1]])
        if k == 3:
            v = self.bank_card()
            return "流水号", v[:-1] + str((int(v[-1]) + r.randint(1, 9)) % 10)
        if k == 4:
            return "订单号", "".join(r.choice("0123456789") for _ in range(20))
        if k == 5:
            return "工单号", "12" + "".join(r.choice("0123456789") for _ in range(9))
        if k == 6:
            return "金额", f"{r.randint(100, 999999)}.{r.randint(0, 99):02d}元"
        return "版本号", f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}"

    # --- sentences ------------------------------------------------------------------------------
    TEMPLATES = {
        "resident_id": ["身份证号：{}", "身份证号码{}", "证件号码为{}", "公民身份号码 {}", "ID:{}"],
        "uscc": ["统一社会信用代码：{}", "信用代码{}", "{company}（{}）", "社会信用代码为{}"],
        "bank_card": ["银行卡号：{}", "卡号{}", "收款账号 {}", "请转账至{}"],
        "mobile": ["手机：{}", "联系电话{}", "手机号码为{}", "请拨打{}联系"],
        "landline": ["座机{}", "办公电话：{}", "电话 {}"],
        "email": ["邮箱：{}", "请发送至{}", "电子邮件 {}"],
        "ipv4": ["登录IP：{}", "来自{}的访问", "服务器地址 {}"],
        "ipv6": ["IPv6地址{}", "来源 {}"],
        "plate": ["车牌号{}", "{}的车辆", "车牌：{}"],
        "passport": ["护照号码{}", "护照：{}", "持护照 {}"],
        "name": [
            "联系人：{}",
            "{}先生",
            "{}女士",
            "申请人{}",
            "患者{}",
            "收件人：{}",
            "姓名：{}",
            "经办人{}",
            "客户{}",
            "{}于昨日提交了申请",
            "{}表示同意",
            "由{}负责",
        ],
        "address": ["住址：{}", "家住{}", "收货地址为{}", "地址：{}", "现居住于{}"],
    }
    KINDS = list(TEMPLATES)

    def item(self, text, spans):
        """Appends one identifier in its template (or a decoy) to `text`."""
        r = self.r
        if r.random() < 0.2:
            label, v = self.decoy()
            text.append(f"{label}{v}")
            return
        kind = r.choice(self.KINDS)
        template = r.choice(self.TEMPLATES[kind])
        v = self.value(kind)
        before, after = template.split("{}")
        before = before.replace("{company}", self.f.company())
        at = sum(map(len, text)) + len(before)
        spans.append({"start": at, "end": at + len(v), "kind": kind})
        text.append(before + v + after)

    def record(self):
        text, spans = [], []
        for _ in range(self.r.randint(1, 4)):
            if self.r.random() < 0.5:
                text.append(self.r.choice(FILLERS) + "，")
            self.item(text, spans)
            text.append(self.r.choice(["，", "。", "；"]))
        text.append(self.r.choice(FILLERS) + "。")
        return {"text": "".join(text), "spans": spans}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=float, default=8.0, help="UTF-8 megabytes of text (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    c = Corpus(a.seed)
    target, size, records, spans = int(a.mb * 1e6), 0, 0, 0
    with open(a.out, "w", encoding="utf-8") as out:
        while size < target:
            rec = c.record()
            size += len(rec["text"].encode("utf-8"))
            records += 1
            spans += len(rec["spans"])
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"deid_corpus: {records} records, {spans} labelled spans, {size / 1e6:.1f} MB of text", file=sys.stderr)


if __name__ == "__main__":
    main()
