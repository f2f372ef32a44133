// Semantics of the Jinja subset, each expected string produced by Python Jinja2 3.1 with Hugging Face's settings.

package chat

import (
	"encoding/json"
	"testing"
)

// jinjaCases: name, template, what Jinja2 renders (trim_blocks and
// lstrip_blocks on, strftime_now at goldenNow).
var jinjaCases = []struct{ name, src, want string }{
	{"loop", "{% for x in ['a','b','c'] %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{% endfor %}", "01TrueFalse3312FalseFalse3223FalseTrue31"},
	{"loopfilter", "{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.last }},{% endfor %}", "2False,4True,"},
	{"forelse", "{% for x in [] %}no{% else %}empty{% endfor %}", "empty"},
	{"breakcont", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", "0134"},
	{"ifelif", "{% set n = 5 %}{% if n < 3 %}a{% elif n < 6 %}b{% else %}c{% endif %}", "b"},
	{"scope", "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "1"},
	{"namespace", "{% set ns = namespace(x=1, found=false) %}{% for i in [1,2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}{{ ns.found }}", "4False"},
	{"slices", "{{ 'hello'[1:3] }}|{{ 'hello'[::-1] }}|{{ [1,2,3,4][-2:] }}|{{ 'hello'[-1] }}|{{ [1,2,3][::2] }}", "el|olleh|[3, 4]|o|[1, 3]"},
	{"filters1", "{{ '  hi  ' | trim }}|{{ 'Hi' | upper }}{{ 'Hi' | lower }}|{{ [1,2] | length }}|{{ 'abc' | length }}|{{ undefined_thing | default('d') }}|{{ '' | default('e', true) }}", "hi|HIhi|2|3|d|e"},
	{"tojson", "{{ {'a': 1, 'b': [true, none, 'x\"y'], 'c': 1.5} | tojson }}|{{ 'é' | tojson }}", "{\"a\": 1, \"b\": [true, null, \"x\\\"y\"], \"c\": 1.5}|\"é\""},
	{"tojsonindent", "{{ {'a': {'b': [1, 2]}, 'c': {}} | tojson(indent=2) }}", "{\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ]\n  },\n  \"c\": {}\n}"},
	{"items", "{% for k, v in {'x': 1, 'y': 2} | items %}{{ k }}={{ v }};{% endfor %}{% for k, v in {'z': 3}.items() %}{{ k }}{{ v }}{% endfor %}", "x=1;y=2;z3"},
	{"join", "{{ ['a','b'] | join(', ') }}|{{ [1,2] | join }}|{{ ['x','y'] | list | length }}", "a, b|12|2"},
	{"replace", "{{ 'a-b-c' | replace('-', '+') }}|{{ 'abc'.replace('b', 'B') }}", "a+b+c|aBc"},
	{"string", "{{ 12 | string }}{{ [1, 'a'] | string }}|{{ {'k': 'v'} }}|{{ none }}|{{ true }}|{{ 1.0 }}|{{ 2.5e-5 }}", "12[1, 'a']|{'k': 'v'}|None|True|1.0|2.5e-05"},
	{"tests", "{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 3 is odd }}{{ 1 is number }}{{ 'a' is not string }}", "FalseTrueTrueTrueTrueTrueTrueFalse"},
	{"methods", "{{ '  x '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('z', 'c')) }}|{{ 'a,b,,c'.split(',') }}|{{ 'a b  c'.split() }}|{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b', 'dflt') }}{{ {'a': 1}.get('b') }}|{{ 'x'.upper() }}{{ 'Hello World'.lower() }}{{ 'hello world'.title() }}", "x|a|TrueTrue|['a', 'b', '', 'c']|['a', 'b', 'c']|1dfltNone|Xhello worldHello World"},
	{"ops", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' in 'cabd' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'a' * 3 }}", "3 -4 1 2 3.5 1024 a1None True True True True aaa"},
	{"andor", "{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ '' and 'z' }}|{{ not 0 }}|{{ 1 < 2 and 2 < 3 }}|{{ 'b' > 'a' }}|{{ 1 == 1.0 }}|{{ [1,2] == [1,2] }}", "x|y||True|True|True|True|True"},
	{"cond", "{{ 'y' if 1 else 'n' }}{{ 'y' if 0 else 'n' }}[{{ 'y' if 0 }}]", "yn[]"},
	{"macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}", "Hi A! Hi B? Hi C."},
	{"setblock", "{% set body %}inner {{ 1 + 1 }}{% endset %}[{{ body }}]", "[inner 2]"},
	{"ws1", "a  {%- if true -%}  b  {%- endif -%}  c", "abc"},
	{"ws2", "<ul>\n    {% for x in [1,2] %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>\n", "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>"},
	{"ws3", "{# comment #}\nx\n  {# indented comment #}\ny {{ 'z' }}  \n  {%+ if true %}k{% endif %}", "x\ny z  \n  k"},
	{"ws4", "{% if true %}\n  a\n{% endif %}\nb  {{- ' c ' -}}  d", "  a\nb c d"},
	{"raw", "{% raw %}{{ not evaluated }}{% endraw %}", "{{ not evaluated }}"},
	{"filterblock", "{% filter upper %}abc{{ 'd' }}{% endfilter %}", "ABCD"},
	{"dictlit", "{% set d = {'a': 1, 'b': {'c': 2}} %}{{ d.b.c }}{{ d['a'] }}{{ d.missing is defined }}{{ d | length }}", "21False2"},
	{"unicode", "{{ 'héllo'[1] }}{{ 'héllo' | length }}{{ 'ÄB' | lower }}", "é5äb"},
	{"listops", "{{ [1] + [2] }}{{ [3,1,2] | sort }}{{ [1,2,3] | first }}{{ [1,2,3] | last }}{{ [1,2,2] | unique | list }}{{ [1,2,3] | reverse | list }}{{ [1, 5, 3] | max }}{{ [1, 2] | sum }}", "[1, 2][1, 2, 3]13[1, 2][3, 2, 1]53"},
	{"mapattr", "{{ [{'n': 'a'}, {'n': 'b'}] | map(attribute='n') | join }}{{ [{'t': 1}, {'t': 0}] | selectattr('t') | list | length }}{{ ['a', ''] | select | list }}{{ [1,2,3,4] | reject('even') | list }}", "ab1['a'][1, 3]"},
	{"strftime", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M') }}|{{ strftime_now('%B %-d, %A') }}", "26 Jul 2024|2024-07-26 12:00|July 26, Friday"},
	{"indentf", "{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}", "a\n  b\n\n  c|  a\n  b"},
	{"capitalize", "{{ 'hELLO wORLD' | capitalize }}|{{ 'x' | int }}{{ '3' | int + 1 }}{{ 3.7 | int }}{{ '2.5' | float }}", "Hello world|0432.5"},
	{"ws_lstrip_expr", "a\n    {{ 'x' }}\n  {% if true %}y{% endif %}\n", "a\n    x\ny"},
	{"ws_lstrip_after_expr", "{{ 'x' }}   {% if true %}y{% endif %}", "x   y"},
	{"ws_comment_then_tag", "a\n  {# c #}{% if true %}y{% endif %}\nz", "a\nyz"},
	{"ws_tabs", "\t\t{% for i in [1,2] %}\n\t{{ i }}\n\t\t{% endfor %}\n", "\t1\n\t2\n"},
	{"ws_minus_both", "x {{- 'a' -}} y {%- if 1 -%} z {%- endif -%} w", "xayzw"},
	{"ws_plus_trim", "{% if 1 +%}\nkeep{% endif %}", "\nkeep"},
	{"ws_crlf", "{% if 1 %}\r\nA\r\n{% endif %}\r\nB", "A\nB"},
	{"ws_final_newlines", "x\n\n", "x\n"},
	{"ws_endraw", "  {% raw %}\n{{x}}\n  {% endraw %}\nafter", "\n{{x}}\nafter"},
	{"ws_set_block", "{% set x -%}\n  inner\n{%- endset %}[{{ x }}]", "[inner]"},
	{"chain_cmp", "{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 1 == 1 == 1 }}", "TrueFalseTrue"},
	{"neg_filter", "{{ -3 | abs }}{{ -(3) }}{{ - 2 ** 2 }}", "3-34"},
	{"str_format", "{{ '%s-%d' % ('a', 3) }}|{{ '%s' | format('x') }}|{{ '%05.2f' % 3.14159 }}|{{ 'hi %s' % 'there' }}", "a-3|x|03.14|hi there"},
	{"not_in_precedence", "{{ not 'a' in ['a'] }}{{ not 1 == 2 }}{{ 'x' ~ (1 + 2) }}", "FalseTruex3"},
	{"is_precedence", "{{ not none is none }}{{ 1 + 1 is even }}", "False1"},
	{"cond_nested", "{{ 'a' if false else 'b' if false else 'c' }}", "c"},
	{"string_concat_adj", "{{ 'a' 'b' }}", "ab"},
	{"tuple_loop", "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", "37"},
	{"set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", "12"},
	{"dict_iter", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}", "ba"},
	{"loop_prev_next", "{% for x in [1,2,3] %}{{ loop.previtem }}{{ loop.nextitem }}|{% endfor %}", "2|13|2|"},
	{"loop_cycle", "{% for x in [1,2,3] %}{{ loop.cycle('a','b') }}{% endfor %}", "aba"},
	{"nested_loop_outer", "{% for a in [1,2] %}{% set outer = loop %}{% for b in [1] %}{{ outer.index }}{{ loop.index }}{% endfor %}{% endfor %}", "1121"},
	{"macro_scope", "{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}", "G"},
	{"items_list_repr", "{{ {'a': 1} | items | list }}", "[('a', 1)]"},
	{"bool_repr", "{{ [true, none, 1.5, 'q\\'s'] }}", "[True, None, 1.5, \"q's\"]"},
	{"float_math", "{{ 0.1 + 0.2 }}|{{ 1 / 3 }}|{{ 10 / 2 }}|{{ 1e20 }}|{{ 123456789.0 * 1000 }}", "0.30000000000000004|0.3333333333333333|5.0|1e+20|123456789000.0"},
	{"int_big", "{{ 2 ** 62 }}", "4611686018427387904"},
	{"slice_neg_step", "{{ [1,2,3,4,5][4:1:-1] }}{{ [1,2,3][-10:10] }}{{ 'abc'[5:] }}[{{ [1,2,3][:-5] }}]{{ [1,2,3,4][::-2] }}", "[5, 4, 3][1, 2, 3][[]][4, 2]"},
	{"split_max", "{{ 'a b c d'.split(' ', 2) }}{{ 'a,b,c'.rsplit(',', 1) }}", "['a', 'b', 'c d']['a,b', 'c']"},
	{"test_kw", "{{ 'a' is in ['a'] }}{{ 2 is divisibleby(2) }}{{ 3 is sameas 3 }}{{ none is not none }}", "TrueTrueTrueFalse"},
	{"default_none", "{{ none | default('x') }}{{ none | default('x', true) }}", "Nonex"},
	{"length_dict", "{{ {'a':1,'b':2} | length }}{{ {} | length }}", "20"},
	{"empty_ns_truthy", "{% set ns = namespace() %}{{ 'y' if ns else 'n' }}", "y"},
	{"dictsort", "{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}", "a2b1"},
	{"join_attr", "{{ [{'n': 'x'}, {'n': 'y'}] | join(',', attribute='n') }}", "x,y"},
	{"tojson_nested_empty", "{{ [[], {}, [{}]] | tojson }}{{ '\\n\\t\\u0001' | tojson }}", "[[], {}, [{}]]\"\\n\\t\\u0001\""},
	{"unicode_json", "{{ {'k': '日本'} | tojson }}", "{\"k\": \"日本\"}"},
	{"replace_count", "{{ 'aaa' | replace('a', 'b', 2) }}", "bba"},
	{"trim_chars", "{{ 'xxhixx' | trim('x') }}", "hi"},
	{"round", "{{ 2.5 | round }}{{ 3.14159 | round(2) }}{{ 7 | round }}", "2.03.147"},
	{"tojson_sort", "{{ {'b': 1, 'a': {'d': 2, 'c': 3}} | tojson(sort_keys=true) }}", "{\"a\": {\"c\": 3, \"d\": 2}, \"b\": 1}"},
	{"tojson_seps", "{{ {'a': [1, 2]} | tojson(separators=(',', ':')) }}", "{\"a\":[1,2]}"},
	{"tojson_indent_seps", "{{ {'a': [1]} | tojson(indent=1, separators=(',', ': ')) }}", "{\n \"a\": [\n  1\n ]\n}"},
	{"str_format_method", "{{ '{} and {}'.format('a', 1) }}|{{ '{0}{1}{0}'.format('x', 'y') }}|{{ 'Hi {name}!'.format(name='Bob') }}|{{ '{{literal}}'.format() }}", "a and 1|xyx|Hi Bob!|{literal}"},
	{"split_maxsplit_ws", "{{ 'a b  c d'.split(none, 1) }}", "['a', 'b  c d']"},
	{"tojson_ascii", "{{ {'k': 'é日😀', 'a\\u007f': 1} | tojson(ensure_ascii=true) }}|{{ 'é' | tojson(true) }}", "{\"k\": \"\\u00e9\\u65e5\\ud83d\\ude00\", \"a\\u007f\": 1}|\"\\u00e9\""},
}

func TestJinjaSemantics(t *testing.T) {
	for _, c := range jinjaCases {
		tmpl, err := New(c.src, "", "")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := tmpl.Render(nil, Options{Now: goldenNow})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
	}
}

// TestWhitespaceJinja2 renders 1,000 random templates that mix text and
// whitespace with every tag kind and "-"/"+" modifier, and requires
// Jinja2's output byte for byte (testdata/gen_whitespace.py).
func TestWhitespaceJinja2(t *testing.T) {
	var cases []struct {
		Src string `json:"src"`
		Out string `json:"out"`
	}
	readJSON(t, "whitespace.json", &cases)
	if len(cases) < 1000 {
		t.Fatalf("only %d cases", len(cases))
	}
	bad := 0
	for _, c := range cases {
		tmpl, err := New(c.Src, "", "")
		var out string
		if err == nil {
			out, err = tmpl.Render(nil, Options{Extra: map[string]any{"x": "X"}})
		}
		if err != nil || out != c.Out {
			if bad++; bad <= 5 {
				t.Errorf("%q: %v\n%s", c.Src, err, firstDiff(out, c.Out))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, len(cases))
	}
}

// TestExpressionsJinja2 evaluates 1,500 random expressions (operators,
// filters, tests, methods, slices, conditionals over literals and four
// variables) and requires Jinja2's output (testdata/gen_expressions.py).
func TestExpressionsJinja2(t *testing.T) {
	var cases []struct {
		Src string `json:"src"`
		Out string `json:"out"`
	}
	readJSON(t, "expressions.json", &cases)
	if len(cases) < 1500 {
		t.Fatalf("only %d cases", len(cases))
	}
	vars := map[string]any{"s": "Ab c", "n": 7, "l": []any{3, 1, 2}, "d": json.RawMessage(`{"z": 1, "a": 2}`)}
	bad := 0
	for _, c := range cases {
		tmpl, err := New(c.Src, "", "")
		var out string
		if err == nil {
			out, err = tmpl.Render(nil, Options{Extra: vars})
		}
		if err != nil || out != c.Out {
			if bad++; bad <= 5 {
				t.Errorf("%s: %v\n got  %q\n want %q", c.Src, err, out, c.Out)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, len(cases))
	}
}
