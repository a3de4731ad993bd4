#!/usr/bin/python3
"""Generates the default model's training corpus: chat conversations (OpenAI message lists) in
English and Korean, with and without thinking, calling four tools (weather, calculator, a SQL
lookup, paging on-call) with results and final answers, parallel calls, plain answers, and
question-answer pairs about onprem itself taken from the planner's own numbers.

Everything is drawn from a seeded generator, so the same seed gives the same corpus. Cities,
numbers, SKUs and teams are split so held-out conversations use values never seen in training.

Usage: corpus.py ONPREM_BINARY OUT_DIR [--train N] [--heldout N] [--seed S]
Writes OUT_DIR/train.jsonl, OUT_DIR/heldout.jsonl (request bodies: messages, tools,
chat_template_kwargs) and OUT_DIR/facts.json (the planner numbers used).
"""
import argparse
import json
import os
import random
import subprocess

TOOLS = {
    "get_weather": {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    "calculate": {"type": "function", "function": {
        "name": "calculate", "description": "Evaluate an arithmetic expression",
        "parameters": {"type": "object", "properties": {
            "expression": {"type": "string", "description": "For example 12 * (3 + 4)"}}, "required": ["expression"]}}},
    "sql_lookup": {"type": "function", "function": {
        "name": "sql_lookup", "description": "Run a read-only SQL query on the inventory database (table inventory: sku, name, stock, warehouse)",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string", "description": "One SELECT statement"}}, "required": ["query"]}}},
    "page_oncall": {"type": "function", "function": {
        "name": "page_oncall", "description": "Page the on-call engineer of a team",
        "parameters": {"type": "object", "properties": {
            "team": {"type": "string"},
            "severity": {"type": "string", "enum": ["low", "high", "critical"]},
            "message": {"type": "string"}}, "required": ["team", "severity", "message"]}}},
}

CITIES = [("Seoul", "서울"), ("Busan", "부산"), ("Tokyo", "도쿄"), ("Paris", "파리"), ("London", "런던"), ("Berlin", "베를린"),
          ("Madrid", "마드리드"), ("Rome", "로마"), ("Sydney", "시드니"), ("Toronto", "토론토"), ("Chicago", "시카고"),
          ("Boston", "보스턴"), ("Denver", "덴버"), ("Austin", "오스틴"), ("Seattle", "시애틀"), ("Dublin", "더블린"),
          ("Oslo", "오슬로"), ("Vienna", "빈"), ("Prague", "프라하"), ("Lisbon", "리스본"), ("Daegu", "대구"), ("Incheon", "인천"),
          ("Osaka", "오사카"), ("Taipei", "타이베이"), ("Bangkok", "방콕"), ("Hanoi", "하노이"), ("Jakarta", "자카르타"),
          ("Mumbai", "뭄바이"), ("Cairo", "카이로"), ("Nairobi", "나이로비"), ("Lima", "리마"), ("Bogota", "보고타")]
HELDOUT_CITIES = {"Daegu", "Oslo", "Lima", "Hanoi", "Vienna", "Austin", "Nairobi", "Taipei"}
CONDITIONS = [("sunny", "맑음"), ("cloudy", "흐림"), ("rainy", "비"), ("windy", "바람"), ("snowy", "눈"), ("foggy", "안개")]
TEAMS = ["payments", "search", "storage", "identity", "billing", "mobile", "data", "network"]
HELDOUT_TEAMS = {"identity", "network"}
PRODUCTS = ["widget", "gear", "bolt", "valve", "sensor", "cable", "filter", "pump", "motor", "relay"]
WAREHOUSES = ["Incheon", "Busan", "Osaka", "Rotterdam"]
INCIDENTS = [("the {t} API returns 500 errors", "{t} API에서 500 오류가 납니다"), ("{t} latency is over 2 seconds", "{t} 지연 시간이 2초를 넘습니다"),
             ("the {t} database is not reachable", "{t} 데이터베이스에 연결할 수 없습니다"), ("{t} disk usage is at 95 percent", "{t} 디스크 사용량이 95%입니다")]


# Invented names: a model that has only seen a short list of cities learns the list, not to copy
# the name in the question into the call. Half of the training cities and teams are made up from
# syllables (English) or Hangul syllables (Korean), so the only way to get them right is to copy.
ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
          "br", "ch", "cr", "dr", "gr", "kl", "pr", "sh", "st", "tr", ""]
VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ia", "ou", "ei"]
CODAS = ["", "", "", "n", "r", "s", "l", "m", "k", "t"]
HANGUL_INITIALS = range(19)
HANGUL_MEDIALS = [0, 4, 8, 13, 18, 20, 1, 6, 12, 17]
HANGUL_FINALS = [0, 0, 0, 4, 8, 16, 21]


def invented_word(r, syllables):
    return "".join(r.choice(ONSETS) + r.choice(VOWELS) + (r.choice(CODAS) if i == syllables - 1 else "")
                   for i in range(syllables))


def random_word(r, letters):
    # Letters drawn uniformly: no syllable pattern to learn, so, as with digits, the only way to
    # write such a name is to copy it.
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(letters))


def random_hangul(r, syllables):
    return "".join(chr(0xAC00 + r.randrange(11172)) for _ in range(syllables))


def invented_hangul(r, syllables):
    return "".join(chr(0xAC00 + (r.choice(HANGUL_INITIALS) * 21 + r.choice(HANGUL_MEDIALS)) * 28 + r.choice(HANGUL_FINALS))
                   for _ in range(syllables))


class Gen:
    def __init__(self, rng, heldout, facts, invented=0.5, copyable_messages=True, random_names=0.0, compact_json=0.0):
        self.r, self.heldout, self.facts = rng, heldout, facts
        self.invented_share, self.copyable_messages, self.random_names = invented, copyable_messages, random_names
        self.compact_json = compact_json
        self.n_call = 0
        held = {c for pair in CITIES for c in pair if pair[0] in HELDOUT_CITIES} | HELDOUT_TEAMS
        self.reserved = held | {w.lower() for w in held}

    def invented(self, make):
        while True:
            w = make()
            if len(w) > 1 and w not in self.reserved and w.lower() not in self.reserved:
                return w

    def uniform_name(self):
        # No draw when the option is off, so corpora without it stay byte for byte the same.
        return self.random_names and self.r.random() < self.random_names

    def result_json(self, value):
        # A tool result as the client serialised it: Python's json.dumps spaces its separators,
        # JavaScript's JSON.stringify does not. A model that saw only one style misreads the other
        # (docs/default-model.md). No draw when the option is off, as with uniform_name.
        compact = self.compact_json and self.r.random() < self.compact_json
        return json.dumps(value, ensure_ascii=False, separators=(",", ":") if compact else None)

    def pick_city(self):
        if not self.heldout and self.r.random() < self.invented_share:
            if self.uniform_name():
                return (self.invented(lambda: random_word(self.r, self.r.randint(3, 9)).capitalize()),
                        self.invented(lambda: random_hangul(self.r, self.r.randint(1, 4))))
            en = self.invented(lambda: invented_word(self.r, self.r.randint(2, 3)).capitalize())
            return en, self.invented(lambda: invented_hangul(self.r, self.r.randint(1, 4)))
        pool = [c for c in CITIES if (c[0] in HELDOUT_CITIES) == self.heldout]
        return self.r.choice(pool)

    def pick_team(self):
        if not self.heldout and self.r.random() < self.invented_share:
            if self.uniform_name():
                return self.invented(lambda: random_word(self.r, self.r.randint(3, 9)))
            return self.invented(lambda: invented_word(self.r, self.r.randint(2, 3)))
        return self.r.choice([t for t in TEAMS if (t in HELDOUT_TEAMS) == self.heldout])

    def number(self):
        # Held-out numbers are odd hundreds-range values; training uses the rest.
        while True:
            n = self.r.randint(2, 999)
            if (n % 7 == 3) == self.heldout:
                return n

    def call_id(self):
        self.n_call += 1
        return "call_%06d" % self.n_call

    def tools_for(self, needed):
        # The needed tool plus a random subset of the others, in random order.
        names = set(needed) | {n for n in TOOLS if self.r.random() < 0.3}
        order = [n for n in TOOLS if n in names]
        self.r.shuffle(order)
        return [TOOLS[n] for n in order]

    def weather(self, ko):
        city = self.pick_city()
        unit = self.r.choice([None, None, "celsius", "fahrenheit"])
        temp = self.r.randint(-5, 35)
        cond = self.r.choice(CONDITIONS)
        name = city[1] if ko else city[0]
        if ko:
            q = self.r.choice(["{c} 날씨 어때?", "지금 {c} 날씨 알려줘.", "{c}의 현재 기온은?", "오늘 {c} 날씨가 어떤가요?"]).format(c=name)
        else:
            q = self.r.choice(["What's the weather in {c}?", "How is the weather in {c} right now?", "Is it cold in {c} today?",
                               "Tell me the current weather in {c}.", "weather {c}"]).format(c=name)
        args = {"city": name}
        if unit:
            args["unit"] = unit
            q += (" (섭씨로)" if unit == "celsius" else " (화씨로)") if ko else (" In %s, please." % unit)
        t = temp if unit != "fahrenheit" else round(temp * 9 / 5 + 32)
        u = "F" if unit == "fahrenheit" else "C"
        result = self.result_json({"city": name, "temperature": t, "unit": u, "condition": cond[0]})
        answer = ("%s은(는) 지금 %d°%s, %s입니다." % (name, t, u, cond[1])) if ko else (
            "It is %d°%s and %s in %s." % (t, u, cond[0], city[0]))
        why = ("사용자가 %s 날씨를 묻는다. get_weather를 호출한다." % name) if ko else (
            "The user asks for the weather in %s, so I call get_weather." % city[0])
        return q, "get_weather", args, result, answer, why

    def calc(self, ko):
        a, b = self.number(), self.number()
        op = self.r.choice(["+", "-", "*"])
        expr = "%d %s %d" % (a, op, b)
        val = eval(expr)  # noqa: S307 - our own two integers and one operator
        q = self.r.choice(["%s는 얼마야?" % expr, "%s 계산해줘." % expr]) if ko else self.r.choice(
            ["What is %s?" % expr, "Compute %s." % expr, "Can you calculate %s for me?" % expr])
        answer = ("%s = %d 입니다." % (expr, val)) if ko else ("%s = %d." % (expr, val))
        why = "계산 도구로 정확히 계산한다." if ko else "Arithmetic: I use the calculate tool to be exact."
        return q, "calculate", {"expression": expr}, self.result_json({"result": val}), answer, why

    def sql(self, ko):
        sku = "SKU-%04d" % (self.number() * 7 % 10000)
        prod = self.r.choice(PRODUCTS)
        stock = self.r.randint(0, 500)
        wh = self.r.choice(WAREHOUSES)
        kind = self.r.choice(["stock", "where"])
        if kind == "stock":
            q = ("%s 재고가 몇 개야?" % sku) if ko else self.r.choice(["How many units of %s are in stock?" % sku, "Stock level for %s?" % sku])
            query = "SELECT stock FROM inventory WHERE sku = '%s'" % sku
            result = self.result_json([{"stock": stock}])
            answer = ("%s 재고는 %d개입니다." % (sku, stock)) if ko else ("There are %d units of %s in stock." % (stock, sku))
        else:
            q = ("%s는 어느 창고에 있어?" % sku) if ko else "Which warehouse holds %s?" % sku
            query = "SELECT warehouse FROM inventory WHERE sku = '%s'" % sku
            result = self.result_json([{"warehouse": wh}])
            answer = ("%s는 %s 창고에 있습니다." % (sku, wh)) if ko else ("%s is in the %s warehouse." % (sku, wh))
        why = "재고 데이터베이스를 조회한다." if ko else "This needs the inventory database: one SELECT."
        del prod
        return q, "sql_lookup", {"query": query}, result, answer, why

    def page(self, ko):
        team = self.pick_team()
        inc = self.r.choice(INCIDENTS)
        sev = self.r.choice(["low", "high", "critical"])
        text = (inc[1] if ko else inc[0]).format(t=team)
        form = 0 if ko else self.r.choice([1, 2])  # the same draw as choosing between the two sentences
        if form == 1:
            q = "%s. Page the %s on-call, severity %s." % (text[0].upper() + text[1:], team, sev)
        else:
            q = ("%s. %s 온콜 담당자를 호출해줘 (심각도 %s)." % (text, team, sev)) if ko else (
                "Please page %s on-call (%s): %s." % (team, sev, text))
        # The message is the incident as the user wrote it, in their language: a value to copy, not
        # to translate (the earlier default models' corpus, --english-messages, always had English).
        message = inc[0].format(t=team)
        if self.copyable_messages:
            message = text[0].upper() + text[1:] if form == 1 else text
        args = {"team": team, "severity": sev, "message": message}
        result = self.result_json({"paged": True, "engineer": self.r.choice(["Kim", "Lee", "Park", "Alex", "Sam", "Jordan"])})
        eng = json.loads(result)["engineer"]
        answer = ("%s 팀 온콜 %s님을 호출했습니다." % (team, eng)) if ko else ("I paged %s, the %s on-call engineer." % (eng, team))
        why = "장애 상황이므로 page_oncall을 호출한다." if ko else "An incident: I page the on-call with page_oncall."
        return q, "page_oncall", args, result, answer, why

    def tool_conversation(self, ko, thinking):
        first = self.tool_exchange(ko, thinking, system=True)
        msgs, names = first["messages"], first["names"]
        # Training conversations often go on with more requests: the model learns to act on the
        # latest question, and each long tool prompt pays for several supervised turns.
        while not self.heldout and self.r.random() < 0.45 and len(msgs) < 16:
            more = self.tool_exchange(ko, thinking, system=False)
            msgs += more["messages"]
            names = names + more["names"]
        return {"messages": msgs, "tools": self.tools_for(names), "chat_template_kwargs": {"enable_thinking": thinking},
                "expect": {"tools": first["names"], "args": first["args"]}}

    def tool_exchange(self, ko, thinking, system):
        kinds = [self.weather, self.calc, self.sql, self.page]
        # Parallel calls: two questions of the same kind. Training sees them more often than
        # held-out prompts do: the one-or-two decision is the hardest thing the model learns.
        if self.r.random() < (0.3 if self.heldout else 0.5):
            k = self.r.choice([self.weather, self.calc])
            parts = [k(ko), k(ko)]
            joiner = " 그리고 " if ko else " And "
            q = parts[0][0] + joiner + parts[1][0]
        else:
            parts = [self.r.choice(kinds)(ko)]
            q = parts[0][0]
        names = [p[1] for p in parts]
        msgs = []
        if system and self.r.random() < 0.3:
            msgs.append({"role": "system", "content": "You are a helpful assistant." if not ko else "당신은 친절한 도우미입니다."})
        msgs.append({"role": "user", "content": q})
        calls = [{"id": self.call_id(), "type": "function", "function": {"name": p[1], "arguments": json.dumps(p[2], ensure_ascii=False)}} for p in parts]
        a = {"role": "assistant", "content": "", "tool_calls": calls}
        if thinking:
            # Reasoning about two requests says so first: the count is decided at one place, the
            # first word, and the calls follow the reasoning.
            count = ["요청이 두 개다."] if ko else ["Two requests."]
            a["reasoning_content"] = " ".join((count if len(parts) > 1 else []) + [p[5] for p in parts])
        msgs.append(a)
        for c, p in zip(calls, parts):
            msgs.append({"role": "tool", "tool_call_id": c["id"], "content": p[3]})
        final = {"role": "assistant", "content": " ".join(p[4] for p in parts)}
        if thinking:
            final["reasoning_content"] = "도구 결과로 답한다." if ko else "I have the tool results; I answer with them."
        msgs.append(final)
        return {"messages": msgs, "names": names, "args": [p[2] for p in parts]}

    def plain(self, ko, thinking):
        if self.r.random() < 0.5 and self.facts:
            f = self.r.choice(self.facts)
            q, ans = (f["q_ko"], f["a_ko"]) if ko else (f["q_en"], f["a_en"])
            why = "플래너 수치로 답한다." if ko else "From the planner's numbers."
        else:
            q, ans, why = self.r.choice([
                ("Hello!", "Hello! How can I help you today?", "A greeting."),
                ("Who are you?", "I am onprem's small default model, running on your own hardware.", "A question about me."),
                ("Thanks!", "You're welcome.", "Thanks."),
                ("What can you do?", "I can check the weather, calculate, look up inventory and page on-call engineers.", "My tools."),
            ]) if not ko else self.r.choice([
                ("안녕하세요!", "안녕하세요! 무엇을 도와드릴까요?", "인사."),
                ("너는 누구야?", "저는 여러분의 하드웨어에서 실행되는 onprem의 작은 기본 모델입니다.", "나에 대한 질문."),
                ("고마워!", "천만에요.", "감사 인사."),
            ])
        msgs = [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
        if thinking:
            msgs[-1]["reasoning_content"] = why
        body = {"messages": msgs, "chat_template_kwargs": {"enable_thinking": thinking}, "expect": {"tools": []}}
        if self.r.random() < 0.4:
            body["tools"] = self.tools_for([])
        return body

    def conversation(self):
        ko = self.r.random() < 0.35
        thinking = self.r.random() < 0.5
        return self.tool_conversation(ko, thinking) if self.r.random() < 0.75 else self.plain(ko, thinking)


def planner_facts(onprem):
    """Question-answer pairs from `onprem plan`: which quantisation fits which GPU."""
    facts = []
    for model in ["qwen3.6-27b", "qwen3.6-35b-a3b"]:
        for quant in ["Q4_K_M", "Q6_K", "Q8_0"]:
            for ctx in [32768, 131072]:
                out = subprocess.run([onprem, "plan", "--model", model, "--quant", quant, "--ctx", str(ctx), "--json"],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    continue
                p = json.loads(out.stdout)
                devices = p.get("devices", [])
                if not devices:
                    continue
                gib = devices[0]["total_bytes"] / 2**30
                fits = [d["device"] for d in devices if d.get("fits")][:3]
                k = "%dK" % (ctx // 1024)
                facts.append({
                    "q_en": "How much memory does %s %s need at %s context?" % (model, quant, k),
                    "a_en": "%s in %s at %s context needs about %.1f GiB%s." % (model, quant, k, gib,
                            (", so it fits on " + ", ".join(fits)) if fits else ""),
                    "q_ko": "%s %s를 %s 컨텍스트로 쓰려면 메모리가 얼마나 필요해?" % (model, quant, k),
                    "a_ko": "%s %s, %s 컨텍스트에는 약 %.1f GiB가 필요합니다." % (model, quant, k, gib)})
    return facts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("onprem")
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--heldout", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--invented", type=float, default=0.5, help="share of training cities and teams made up")
    ap.add_argument("--random-names", type=float, default=0.0, help="share of invented names made of uniformly drawn letters or syllables")
    ap.add_argument("--compact-json", type=float, default=0.0, help="share of tool results written as compact JSON (JSON.stringify's style)")
    ap.add_argument("--english-messages", action="store_true",
                    help="page_oncall messages always the English incident text (the earlier default models' corpus)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    facts = planner_facts(a.onprem)
    with open(os.path.join(a.out, "facts.json"), "w") as f:
        json.dump(facts, f, ensure_ascii=False, indent=1)
    for name, n, held in [("train", a.train, False), ("heldout", a.heldout, True)]:
        g = Gen(random.Random(a.seed * 1000 + held), held, facts, a.invented, not a.english_messages, a.random_names, a.compact_json)
        with open(os.path.join(a.out, name + ".jsonl"), "w") as f:
            for _ in range(n):
                f.write(json.dumps(g.conversation(), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
