#!/usr/bin/env bash
# Reference: llama.cpp's convert_hf_to_gguf.py (snapshot c392e5094), run outside the repo.
#
# Makes the fixtures of cmd/gptgo/convert_llamacpp_test.go: for llama, qwen2, gpt2 and bert, a tiny
# random model (gptgo init, seeded, with the vocabulary of ../shared/reference/models/tiny-ARCH-f32.gguf)
# exported as a Hugging Face checkpoint (gptgo export; GPT-2 with its head tied and left out, as
# Hugging Face saves GPT-2), converted by llama.cpp's converter, and the result's manifest (keys,
# tensor types, shapes and SHA-256) written to cmd/gptgo/testdata/llamacpp-convert/ARCH.json.
# The test makes the same checkpoint, converts it with gptgo convert and compares manifests.
# The feed-forward width is 4 × the embedding width: llama.cpp's converter writes that for GPT-2
# whatever n_inner says.
#
# Needs: llama.cpp's source at $LLAMA (default /tmp/llama.cpp), Debian's python3-torch,
# python3-numpy, python3-sentencepiece and python3-tqdm. Without the transformers package the
# converter cannot read byte-level BPE or WordPiece vocabularies, so for qwen2, gpt2 and bert the
# tokenizer step is skipped (--no-vocab) and the manifests leave out tokenizer.* keys; llama's
# SentencePiece vocabulary is converted and compared.
#
#   tools/convert-compare/run.sh [GPTGO]   (default: go run ./cmd/gptgo)
set -eu
cd "$(dirname "$0")/../.."
here=tools/convert-compare
gptgo=${1:-"go run ./cmd/gptgo"}
py=/usr/bin/python3
out=cmd/gptgo/testdata/llamacpp-convert
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for a in llama qwen2 gpt2 bert; do
	$gptgo init "$work/$a.gguf" --arch $a --dim 16 --layers 1 --heads 2 --ff 64 --ctx 64 --type f16 --seed 1 \
		--vocab-from ../shared/reference/models/tiny-$a-f32.gguf --quiet
	$gptgo export "$work/$a.gguf" "$work/hf-$a" --quiet
	if [ $a = gpt2 ]; then
		mkdir "$work/tied"
		$py $here/drop_tensor.py "$work/hf-$a" "$work/tied" lm_head.weight
		mv "$work/tied/model.safetensors" "$work/tied/config.json" "$work/hf-$a/"
	fi
	mkdir "$work/ref-$a"
	cp -r "$work/hf-$a/." "$work/ref-$a/"
	rm "$work/ref-$a/model.safetensors"
	$py $here/to_bin.py "$work/hf-$a" "$work/ref-$a"
	vocab=--no-vocab skip="--skip-prefix tokenizer."
	[ $a = llama ] && vocab= skip=
	$py $here/convert_ref.py "$work/ref-$a" --outfile "$work/ref-$a.gguf" --outtype f16 $vocab >"$work/log-$a" 2>&1 ||
		{ cat "$work/log-$a"; exit 1; }
	$py $here/manifest.py "$work/ref-$a.gguf" "$out/$a.json" $skip
	echo "$a: $out/$a.json"
done
