//! Word lists of the Chinese detectors (surnames, context words, place names, plate provinces) and their lookup bitmaps.

use std::sync::OnceLock;

/// Common single-character surnames (roughly the 300 most frequent).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封谈匡鞠惠荆乐冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻厉伊仝郜阚花权帅屠朴盖练廉禹井祖漆巴丰卿狄计索宣晋初芮都阙浦戈伏鹿薄邸雍辜裘亓修邰赫杭况宿逯隆茹诸慕嵇湛宾戎勾茅揭檀衣展昝智幸奉衡富尧傅赖洪萧阎";

/// Rarer surnames that are also common words (云, 强, 原 ...): taken only after a context word (姓名：云慧).
const RARE_SURNAMES: &str = "和呼原云强晁官位豆支相门容敬扈普羊阿乌母那鲜印战危银亢公哈";

/// Two-character surnames.
pub const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "夏侯", "轩辕", "端木", "独孤", "南宫",
    "西门", "司徒",
];

/// Words after which a person's name follows (姓名：张三).
pub const NAME_BEFORE: &[&str] = &[
    "姓名",
    "联系人",
    "收件人",
    "收货人",
    "申请人",
    "患者",
    "户主",
    "法定代表人",
    "法人代表",
    "负责人",
    "经办人",
    "持卡人",
    "当事人",
    "被保险人",
    "投保人",
    "我叫",
];

/// Titles before which a person's name stands (张三先生).
pub const NAME_AFTER: &[&str] = &["先生", "女士", "小姐"];

/// Verbs after which a name stands with only punctuation or a function word before it
/// (，王伟表示同意；由刘洋负责): a name is the likeliest subject there.
pub const NAME_VERBS: &[&str] = &["表示", "负责", "提交", "办理", "签字", "签收", "于昨日", "于今日", "于近日"];

/// Function words that may stand just before a name found by a verb after it (由刘洋负责).
const NAME_PRECEDERS: &str = "由请向与和经被让据对及或为给将把";

/// Characters that end a name or an address: function words and the first characters of field words.
const STOPS: &str = "的和与及或在是了将把被从到向给对等请为我你他她们电手身地性年男女证号码联邮住先同老您这那有已于每共";

/// Province-level names (an address may start with one).
const PROVINCES: &[&str] = &[
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
];

/// Cities an address may start with: Zhejiang's, the provincial capitals and other large cities.
const CITIES: &[&str] = &[
    "杭州",
    "宁波",
    "温州",
    "嘉兴",
    "湖州",
    "绍兴",
    "金华",
    "衢州",
    "舟山",
    "台州",
    "丽水",
    "南京",
    "苏州",
    "无锡",
    "常州",
    "南通",
    "扬州",
    "广州",
    "深圳",
    "东莞",
    "佛山",
    "珠海",
    "成都",
    "武汉",
    "西安",
    "郑州",
    "长沙",
    "合肥",
    "福州",
    "厦门",
    "济南",
    "青岛",
    "沈阳",
    "大连",
    "长春",
    "哈尔滨",
    "石家庄",
    "太原",
    "南昌",
    "昆明",
    "贵阳",
    "南宁",
    "海口",
    "兰州",
    "西宁",
    "银川",
    "乌鲁木齐",
    "拉萨",
    "呼和浩特",
];

/// Place words that hold a character of [`STOPS`] (和平区, 呼和浩特): an address reads through them.
/// Each is given from its stop character on (和浩特 for 呼和浩特), where the address reader meets it.
pub const PLACE_WORDS_WITH_STOPS: &[&str] = &["和平", "和浩特", "向阳", "和田", "共青城", "于都", "同安", "同江", "老河口"];

/// Province abbreviations on licence plates.
const PLATE_PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Characters that close an address component; street-level ones make a span an address.
const ADMIN_MARKERS: &str = "省市区县旗";
const STREET_MARKERS: &str = "镇乡街道路巷弄号村组栋幢座室楼层苑";

const CJK_FIRST: u32 = 0x4E00;
const CJK_END: u32 = 0xA000;

/// A set of CJK unified ideographs as a bitmap.
pub struct CharSet(Vec<u64>);

impl CharSet {
    fn new() -> CharSet {
        CharSet(vec![0; ((CJK_END - CJK_FIRST) / 64) as usize])
    }

    fn add(&mut self, c: char) {
        let cp = c as u32;
        if (CJK_FIRST..CJK_END).contains(&cp) {
            let i = (cp - CJK_FIRST) as usize;
            self.0[i / 64] |= 1 << (i % 64);
        }
    }

    fn add_all(&mut self, chars: impl IntoIterator<Item = char>) {
        chars.into_iter().for_each(|c| self.add(c));
    }

    #[inline]
    pub fn has(&self, cp: u32) -> bool {
        if !(CJK_FIRST..CJK_END).contains(&cp) {
            return false;
        }
        let i = (cp - CJK_FIRST) as usize;
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

/// The detectors' lookup tables, built once.
pub struct Tables {
    /// Per CJK ideograph (from U+4E00), the detectors that may start at it (`ROLE_*` bits; 0 for
    /// most characters, which the scanner skips after one load).
    roles: Vec<u8>,
    /// The first two characters of every context and place word, hashed into a bitmap: a
    /// character that starts such words is looked further at only when the next one may follow
    /// it (上海 but not 上午).
    openings: Vec<u64>,
    pub plate: CharSet,
    pub surname: CharSet,
    pub rare_surname: CharSet,
    pub stop: CharSet,
    pub admin: CharSet,
    pub street: CharSet,
    /// Place names and name-context words by their first character.
    pub places: WordIndex,
    pub before: WordIndex,
    pub after: WordIndex,
    pub verbs: WordIndex,
    pub preceders: CharSet,
}

pub const ROLE_PLATE: u8 = 1;
pub const ROLE_PLACE: u8 = 2;
pub const ROLE_BEFORE: u8 = 4;
pub const ROLE_AFTER: u8 = 8;
pub const ROLE_VERB: u8 = 16;

const OPENING_BITS: u32 = 16;

/// The bit of a pair of characters in [`Tables::openings`].
fn opening_bit(first: u32, second: u32) -> usize {
    (first.wrapping_mul(0x9E37_79B9) ^ second.wrapping_mul(0x85EB_CA6B)).rotate_left(7) as usize & ((1 << OPENING_BITS) - 1)
}

impl Tables {
    /// The detectors that may start at a code point (`ROLE_*` bits).
    #[inline]
    pub fn roles(&self, cp: u32) -> u8 {
        self.roles.get(cp.wrapping_sub(CJK_FIRST) as usize).copied().unwrap_or(0)
    }

    /// Whether some context or place word may open with `first` and `second` (false: none does).
    #[inline]
    pub fn may_open(&self, first: u32, second: u32) -> bool {
        let bit = opening_bit(first, second);
        self.openings[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// Words by first character: a bitmap to reject fast, then a sorted list (longest word first among equals).
pub struct WordIndex {
    first: CharSet,
    words: Vec<(u32, &'static str)>,
}

impl WordIndex {
    fn new(words: &[&'static str]) -> WordIndex {
        let mut first = CharSet::new();
        let mut list: Vec<(u32, &'static str)> = words.iter().map(|w| (w.chars().next().map_or(0, |c| c as u32), *w)).collect();
        list.iter().for_each(|(c, _)| first.add(char::from_u32(*c).unwrap_or('\0')));
        list.sort_by_key(|(c, w)| (*c, std::cmp::Reverse(w.len())));
        WordIndex { first, words: list }
    }

    /// The longest word starting with `cp` that `text` starts with.
    #[inline]
    pub fn find(&self, cp: u32, text: &[u8]) -> Option<&'static str> {
        if !self.first.has(cp) {
            return None;
        }
        let from = self.words.partition_point(|(c, _)| *c < cp);
        self.words[from..].iter().take_while(|(c, _)| *c == cp).map(|(_, w)| *w).find(|w| text.starts_with(w.as_bytes()))
    }
}

fn build() -> Tables {
    let set = |s: &str| {
        let mut c = CharSet::new();
        c.add_all(s.chars());
        c
    };
    let places: Vec<&'static str> = PROVINCES.iter().chain(CITIES).copied().collect();
    let mut roles = vec![0u8; (CJK_END - CJK_FIRST) as usize];
    let mut mark = |chars: &mut dyn Iterator<Item = char>, role: u8| {
        for c in chars {
            if let Some(r) = roles.get_mut((c as u32).wrapping_sub(CJK_FIRST) as usize) {
                *r |= role;
            }
        }
    };
    mark(&mut PLATE_PROVINCES.chars(), ROLE_PLATE);
    let mut openings = vec![0u64; (1 << OPENING_BITS) / 64];
    for (words, role) in [(&places[..], ROLE_PLACE), (NAME_BEFORE, ROLE_BEFORE), (NAME_AFTER, ROLE_AFTER), (NAME_VERBS, ROLE_VERB)] {
        mark(&mut words.iter().filter_map(|w| w.chars().next()), role);
        for w in words {
            let mut c = w.chars().map(|c| c as u32);
            if let (Some(a), Some(b)) = (c.next(), c.next()) {
                let bit = opening_bit(a, b);
                openings[bit / 64] |= 1 << (bit % 64);
            }
        }
    }
    Tables {
        roles,
        openings,
        plate: set(PLATE_PROVINCES),
        surname: set(SURNAMES),
        rare_surname: set(RARE_SURNAMES),
        stop: set(STOPS),
        admin: set(ADMIN_MARKERS),
        street: set(STREET_MARKERS),
        places: WordIndex::new(&places),
        before: WordIndex::new(NAME_BEFORE),
        after: WordIndex::new(NAME_AFTER),
        verbs: WordIndex::new(NAME_VERBS),
        preceders: set(NAME_PRECEDERS),
    }
}

/// The tables (built on first use; pure data, no I/O).
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build)
}

/// Whether a character is a common single-character surname.
pub fn is_surname(c: char) -> bool {
    tables().surname.has(c as u32)
}

/// The place names the address detector starts from (for generators and tests).
pub fn place_names() -> impl Iterator<Item = &'static str> {
    PROVINCES.iter().chain(CITIES).copied()
}

/// The single-character surnames (for generators and tests).
pub fn surnames() -> impl Iterator<Item = char> {
    SURNAMES.chars()
}
