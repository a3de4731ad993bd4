// A deterministic tokenizer corpus: English, Korean, Chinese, Japanese, code, emoji, whitespace
// runs, numbers, contractions and punctuation, mixed line by line. NFC only (llama.cpp does not
// normalise and the Hugging Face tokenizer does; on NFC text both must agree).
const fragments = {
  english: ["Hello world", "The quick brown fox jumps over the lazy dog.", "It's a test, isn't it?",
    "WE'LL SEE, THEY'RE HERE, I'M SURE, YOU'VE GOT IT, HE'D GO", "state-of-the-art", "e-mail: someone@example.com",
    "Don't panic!", "naïve café résumé coöperate", "Mr. O'Neil's dog's bone", "https://example.org/a/b?c=d&e=f#g"],
  korean: ["안녕하세요", "오늘 날씨가 정말 좋네요.", "서울특별시 강남구 테헤란로 152", "모델을 온프레미스에서 실행합니다",
    "한국어와 English를 섞어서", "ㄱㄴㄷ ㅏㅑㅓ", "가나다라마바사"],
  chinese: ["你好，世界！", "今天天气很好。", "机器学习和人工智能", "我们在本地运行大模型，成本更低。", "《红楼梦》第一回"],
  japanese: ["こんにちは世界", "東京は晴れです。", "カタカナとひらがな"],
  other: ["Привет, мир!", "Ελληνικά γράμματα", "עברית", "مرحبا بالعالم", "हिन्दी पाठ", "Cửa Việt", "ß ẞ ŉ ǅ"],
  code: ["def f(x):\n    return x ** 2", "for (int i = 0; i < n; ++i) { sum += a[i]; }", "if x != None and y >= 3:",
    "const y = await fetch(`/api/${id}`);", "#include <stdio.h>", "SELECT * FROM users WHERE id = 42;",
    "fn main() -> Result<(), Box<dyn Error>> {}", "x = [1, 2, 3]; y = {'a': 1}", "<div class=\"x\">&amp;</div>",
    "    indented\n\tTabbed\n\t\tdouble", "a+=1;b-=2;c*=3;d/=4;e%=5;", "#!/usr/bin/env bash\nset -euo pipefail"],
  emoji: ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇰🇷🇺🇸", "❤️", "🚀🔥✨", "smile 😀 please", "©®™", "→⇒∀∃∑∫"],
  numbers: ["333", "1234567890", "3.14159", "1,000,000", "ied 4 ½ months", "2026-11-29", "0x1F 0b1010", "٣٤٥",
    "-42", "1e-6", "99.9%", "$1,299.00", "Ⅻ ⅷ", "²³¹"],
  space: ["  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\t\n", " \n ", "\r\n", "    ", "\u00a0", "\u3000", "  \t  "],
  punct: ["...", "!!!", "?!", "---", "***", "'''", "\"\"\"", "(((", ")))", "[...]", "''", "'s", "'"],
};
const kinds = Object.keys(fragments);

function mulberry32(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeCorpus(n = 2200, seed = 20261129) {
  const rnd = mulberry32(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const seps = ["", " ", " ", " ", "  ", "\t", "\n", "   "];
  const lines = [];
  // Every fragment alone first, so each is covered at least once.
  for (const k of kinds) for (const f of fragments[k]) lines.push(f);
  while (lines.length < n) {
    const parts = 1 + Math.floor(rnd() * 5);
    let s = "";
    for (let i = 0; i < parts; i++) s += (i ? pick(seps) : rnd() < 0.2 ? pick(seps) : "") + pick(fragments[pick(kinds)]);
    if (rnd() < 0.15) s += pick(seps);
    lines.push(s);
  }
  return lines.filter((l) => l.normalize("NFC") === l);
}
