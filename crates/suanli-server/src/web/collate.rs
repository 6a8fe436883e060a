//! How the web UI orders text: by pinyin in the Chinese UI (a Han character as its syllable without tone, so 杭州 hangzhou < 宁波 ningbo < 上海 shanghai < 温州 wenzhou), by letters case-blind in the English UI; equal keys fall back to the text itself, so the order is total.

use super::Lang;
use pinyin::ToPinyin;

/// The key a text sorts by on a page in `lang`: one token a character, each followed by a NUL so
/// that tokens compare one by one (西安 xi·an before 先 xian): in Chinese, a Han character's
/// toneless pinyin (the first reading of one with several), anything else lower-cased. Latin
/// text thus sorts as it does on an English page, and among pinyin as its letters would.
pub fn sort_key(lang: Lang, text: &str) -> String {
    let mut key = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match (lang, c.to_pinyin()) {
            (Lang::Zh, Some(p)) => key.push_str(p.plain()),
            _ => key.extend(c.to_lowercase()),
        }
        key.push('\0');
    }
    key
}

/// What a text sorts by on a page in `lang`: its [`sort_key`], then the text itself.
fn key(lang: Lang, text: &str) -> (String, String) {
    (sort_key(lang, text), text.to_string())
}

/// Puts `items` in the order of a page in `lang` by the text each shows: one key an item, not
/// two a comparison (a key looks up every character's pinyin).
pub fn sort_by_text<T>(lang: Lang, items: &mut [T], text: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|x| key(lang, text(x)));
}

/// Two texts in the order of a page in `lang`: as [`sort_by_text`] orders them.
#[cfg(test)]
fn compare(lang: Lang, a: &str, b: &str) -> std::cmp::Ordering {
    key(lang, a).cmp(&key(lang, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn sorted(lang: Lang, names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        sort_by_text(lang, &mut v, String::as_str);
        v
    }

    #[test]
    fn chinese_names_sort_by_pinyin_on_a_chinese_page() {
        let cities = ["温州", "上海", "杭州", "宁波"];
        assert_eq!(sorted(Lang::Zh, &cities), ["杭州", "宁波", "上海", "温州"], "hangzhou, ningbo, shanghai, wenzhou");
        assert_eq!(sort_key(Lang::Zh, "杭州"), "hang\0zhou\0");
        let names = ["西湖区", "滨江区", "余杭区", "上城区", "临平区", "拱墅区", "萧山区", "钱塘区"];
        // binjiang, gongshu, linping, qiantang, shangcheng, xi·hu, xiao·shan, yuhang: syllable by syllable
        assert_eq!(sorted(Lang::Zh, &names), ["滨江区", "拱墅区", "临平区", "钱塘区", "上城区", "西湖区", "萧山区", "余杭区"]);
        assert_eq!(sorted(Lang::Zh, &["先锋", "西安"]), ["西安", "先锋"], "syllable by syllable: xi·an before xian·feng");
        // Unicode order would put 上海 (U+4E0A) first and 杭州 (U+676D) after 宁波 (U+5B81).
        let mut by_code_point = cities.to_vec();
        by_code_point.sort_unstable();
        assert_eq!(by_code_point, ["上海", "宁波", "杭州", "温州"]);
    }

    #[test]
    fn latin_text_keeps_its_order_and_mixed_text_has_a_total_order() {
        let latin = ["beta", "Alpha", "alpha", "A100 pool", "a-10", "Gamma"];
        let expected = ["a-10", "A100 pool", "Alpha", "alpha", "beta", "Gamma"];
        assert_eq!(sorted(Lang::En, &latin), expected);
        assert_eq!(sorted(Lang::Zh, &latin), expected, "ASCII sorts the same on a Chinese page");
        // Pinyin interleaves with Latin letters (a Latin letter is a token of its own, so "h" of
        // Hangzhou before the syllable "hang"); digits come before both; the text breaks ties.
        let mixed = ["杭州 B", "H800 集群", "杭州 a", "2号机房", "湖州", "Hangzhou"];
        assert_eq!(sorted(Lang::Zh, &mixed), ["2号机房", "H800 集群", "Hangzhou", "杭州 a", "杭州 B", "湖州"]);
        assert_eq!(compare(Lang::Zh, "Hangzhou", "hangzhou"), Ordering::Less, "equal keys: the text decides");
        assert_eq!(compare(Lang::Zh, "杭州", "杭州"), Ordering::Equal);
        // On an English page Chinese text stays in code-point order, after Latin letters.
        assert_eq!(sorted(Lang::En, &["杭州", "Ningbo", "上海"]), ["Ningbo", "上海", "杭州"]);
    }
}
