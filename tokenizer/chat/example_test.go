// Runnable examples for package chat.

package chat_test

import (
	"fmt"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

func Example() {
	tmpl, err := chat.New(`{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}`, "", "<|im_end|>")
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt, err := tmpl.Render([]chat.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "Hi"},
	}, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// You are terse.<|im_end|>
	// <|im_start|>user
	// Hi<|im_end|>
	// <|im_start|>assistant
}

func ExampleNew_syntaxError() {
	_, err := chat.New("Hello\n{% if messages %}{{ messages[0].content + }}{% endif %}", "", "")
	fmt.Println(err)
	// Output: chat: template line 2 col 43: unexpected end of expression
}

func ExampleBuiltin() {
	tmpl, _ := chat.Builtin("llama3")
	prompt, _ := tmpl.Render([]chat.Message{{Role: "user", Content: "Hi"}}, chat.Options{AddGenerationPrompt: true})
	fmt.Printf("%q\n", prompt)
	// Output: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
}
