// Reference: llama.cpp src/llama-vocab.cpp (llama_vocab::impl::load maps
// tokenizer.ggml.pre to a pre-tokenizer type; llm_tokenizer_bpe lists each
// type's regexes) and src/unicode.cpp (how \p{..} and \s are interpreted).

package tokenizer

import "unicode"

// Stages shared by several pre-tokenizers.
var (
	stageNewline    = byMatcher(oneOf(isNewline)) // [\r\n]
	stageDigit      = byMatcher(oneOf(isNumber))  // \p{N}
	stageDigits     = byMatcher(runOf(isNumber))  // \p{N}+
	stageCJK        = byMatcher(runOf(isCJK))     // [一-龥ࠀ-一가-퟿]+
	stageThreeDigit = byMatcher(threeDigits)      // [0-9][0-9][0-9]
	stageGPT2       = stage(splitGPT2)            // the GPT-2 pattern
	stageLLaMA3     = llama3Stage(3)              // the LLaMA-3 pattern
	stageQwen2      = llama3Stage(1)              // LLaMA-3 with single digits
	stageTrailingWS = byMatcher(trailingSpace)    // \s+$
)

// deepseekLetters is the literal letter class of DeepSeek-LLM's second
// regex (the cased letters of Latin, Greek, Cyrillic, Armenian, Georgian,
// Cherokee, Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi,
// Adlam and the full-width Latin forms).
var deepseekLetters = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x0041, 0x005A, 1}, {0x0061, 0x007A, 1}, {0x00B5, 0x00B5, 1}, {0x00C0, 0x00D6, 1},
		{0x00D8, 0x00F6, 1}, {0x00F8, 0x01BA, 1}, {0x01BC, 0x01BF, 1}, {0x01C4, 0x0293, 1},
		{0x0295, 0x02AF, 1}, {0x0370, 0x0373, 1}, {0x0376, 0x0376, 1}, {0x0377, 0x0377, 1},
		{0x037B, 0x037D, 1}, {0x037F, 0x037F, 1}, {0x0386, 0x0386, 1}, {0x0388, 0x038A, 1},
		{0x038C, 0x038C, 1}, {0x038E, 0x03A1, 1}, {0x03A3, 0x03F5, 1}, {0x03F7, 0x0481, 1},
		{0x048A, 0x052F, 1}, {0x0531, 0x0556, 1}, {0x10A0, 0x10C5, 1}, {0x13A0, 0x13F5, 1},
		{0x13F8, 0x13FD, 1}, {0x1C90, 0x1CBA, 1}, {0x1CBD, 0x1CBF, 1}, {0x1D00, 0x1D2B, 1},
		{0x1D6B, 0x1D77, 1}, {0x1D79, 0x1D9A, 1}, {0x1E00, 0x1F15, 1}, {0x1F18, 0x1F1D, 1},
		{0x1F20, 0x1F45, 1}, {0x1F48, 0x1F4D, 1}, {0x1F50, 0x1F57, 1}, {0x1F59, 0x1F59, 1},
		{0x1F5B, 0x1F5B, 1}, {0x1F5D, 0x1F5D, 1}, {0x1F5F, 0x1F7D, 1}, {0x1F80, 0x1FB4, 1},
		{0x1FB6, 0x1FBC, 1}, {0x1FBE, 0x1FBE, 1}, {0x1FC2, 0x1FC4, 1}, {0x1FC6, 0x1FCC, 1},
		{0x1FD0, 0x1FD3, 1}, {0x1FD6, 0x1FDB, 1}, {0x1FE0, 0x1FEC, 1}, {0x1FF2, 0x1FF4, 1},
		{0x1FF6, 0x1FFC, 1}, {0x2102, 0x2102, 1}, {0x2107, 0x2107, 1}, {0x210A, 0x2113, 1},
		{0x2115, 0x2115, 1}, {0x2119, 0x211D, 1}, {0x2124, 0x2124, 1}, {0x2126, 0x2126, 1},
		{0x2128, 0x2128, 1}, {0x212A, 0x212D, 1}, {0x212F, 0x2134, 1}, {0x2139, 0x2139, 1},
		{0x213C, 0x213F, 1}, {0x2145, 0x2149, 1}, {0x214E, 0x214E, 1}, {0x2183, 0x2183, 1},
		{0x2184, 0x2184, 1}, {0x2C00, 0x2C7B, 1}, {0x2C7E, 0x2CE4, 1}, {0x2CEB, 0x2CEE, 1},
		{0x2CF2, 0x2CF2, 1}, {0x2CF3, 0x2CF3, 1}, {0xA640, 0xA66D, 1}, {0xA680, 0xA69B, 1},
		{0xA722, 0xA76F, 1}, {0xA771, 0xA787, 1}, {0xA78B, 0xA78E, 1}, {0xAB70, 0xABBF, 1},
		{0xFB00, 0xFB06, 1}, {0xFB13, 0xFB17, 1}, {0xFF21, 0xFF3A, 1}, {0xFF41, 0xFF5A, 1},
	},
	R32: []unicode.Range32{
		{0x10400, 0x1044F, 1}, {0x104B0, 0x104D3, 1}, {0x104D8, 0x104FB, 1}, {0x10C80, 0x10CB2, 1},
		{0x10CC0, 0x10CF2, 1}, {0x118A0, 0x118DF, 1}, {0x1E900, 0x1E943, 1},
	},
}

// deepseekPunct is [!-/:-~！-／：-～‘-‟　-。] (it includes ASCII letters: the
// class is upstream's, kept as is).
func deepseekPunct(r rune, _ uint16) bool {
	return (r >= '!' && r <= '/') || (r >= ':' && r <= '~') ||
		(r >= 0xFF01 && r <= 0xFF0F) || (r >= 0xFF1A && r <= 0xFF5E) ||
		(r >= 0x2018 && r <= 0x201F) || (r >= 0x3000 && r <= 0x3002)
}

// preTokenizers maps tokenizer.ggml.pre values to their stages. Values that
// llama.cpp treats alike share an entry.
var preTokenizers = map[string][]stage{
	"default": {
		byMatcher(runOf(isPunctOr("$+<=>^~|"))), stageGPT2, stageDigits, stageThreeDigit,
	},
	"gpt-2":     {stageGPT2},
	"llama3":    {stageLLaMA3},
	"qwen2":     {stageQwen2},
	"o200k":     {o200kStage}, // tiktoken's o200k_base (not a tokenizer.ggml.pre value)
	"starcoder": {stageDigit, stageGPT2},
	"falcon": {
		byMatcher(runOf(isPunctOr("$+<=>^~|`"))), stageGPT2, stageThreeDigit,
	},
	"deepseek-coder": {
		stageNewline,
		byMatcher(optSpaceRun(isLetter)),
		byMatcher(optSpaceRun(isPunct)),
		stageCJK,
		stageDigit,
	},
	"deepseek-llm": {
		stageNewline,
		byMatcher(optSpaceRun(func(r rune, _ uint16) bool { return unicode.Is(deepseekLetters, r) })),
		byMatcher(optSpaceRun(deepseekPunct)),
		stageTrailingWS,
		stageCJK,
		stageDigits,
	},
}

// preAliases maps every accepted tokenizer.ggml.pre value to a key of
// preTokenizers. "gpt-neox" is not a value llama.cpp's converter writes;
// GPT-NeoX-style vocabularies use the GPT-2 pattern, so it is accepted as an alias.
var preAliases = map[string]string{
	"":                 "default",
	"default":          "default",
	"llama3":           "llama3",
	"llama-v3":         "llama3",
	"llama-bpe":        "llama3",
	"falcon3":          "llama3",
	"dbrx":             "llama3",
	"smaug-bpe":        "llama3",
	"chatglm-bpe":      "llama3",
	"deepseek-llm":     "deepseek-llm",
	"deepseek-coder":   "deepseek-coder",
	"falcon":           "falcon",
	"mpt":              "gpt-2",
	"olmo":             "gpt-2",
	"jais":             "gpt-2",
	"gpt-2":            "gpt-2",
	"phi-2":            "gpt-2",
	"gpt-neox":         "gpt-2",
	"jina-es":          "gpt-2",
	"jina-de":          "gpt-2",
	"gigachat":         "gpt-2",
	"jina-v1-en":       "gpt-2",
	"jina-v2-es":       "gpt-2",
	"jina-v2-de":       "gpt-2",
	"jina-v2-code":     "gpt-2",
	"roberta-bpe":      "gpt-2",
	"starcoder":        "starcoder",
	"refact":           "starcoder",
	"command-r":        "starcoder",
	"smollm":           "starcoder",
	"codeshell":        "starcoder",
	"exaone":           "starcoder",
	"minerva-7b":       "starcoder",
	"qwen2":            "qwen2",
	"deepseek-r1-qwen": "qwen2",
	"stablelm2":        "qwen2",
	"megrez":           "qwen2",
	"o200k":            "o200k",
}

// preSettings are the per-pre-tokenizer defaults llama.cpp applies before
// reading the file's own flags.
type preSettings struct {
	ignoreMerges bool // a word that is already a token skips BPE (LLaMA-3)
	addBOS       bool // add BOS unless tokenizer.ggml.add_bos_token says otherwise
	noBOS        bool // the vocabulary has no BOS (ChatGLM-4)
}

func settingsFor(pre string) preSettings {
	switch pre {
	case "llama3", "llama-v3", "llama-bpe", "falcon3":
		return preSettings{ignoreMerges: true, addBOS: true}
	case "chatglm-bpe":
		return preSettings{noBOS: true}
	}
	return preSettings{}
}
