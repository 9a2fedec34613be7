"""A tiny Qwen2-architecture model with random weights, in Hugging Face format, for serving tests.

Two layers, hidden size 64 (2 heads of 32, the smallest head size vLLM's CPU attention takes), a 512-token
byte-level BPE trained on this repository's own Python, and the Qwen2.5-Coder FIM and repo tokens as
special tokens, so the `qwen-coder` template's markers are single tokens. It can't write code; it only
has to be served.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<|im_start|>",
    "<|im_end|>",
]
VOCAB_SIZE = 512
REPO = Path(__file__).resolve().parents[2]


def corpus() -> list[str]:
    files = sorted((REPO / "engine").rglob("*.py")) + sorted((REPO / "indexer").rglob("*.py"))
    return [path.read_text(encoding="utf-8") for path in files]


def make_tiny_model(folder: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<|endoftext|>", model_max_length=4096
    )
    tokenizer.save_pretrained(folder)

    eos = bpe.token_to_id("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=VOCAB_SIZE,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=eos,
        eos_token_id=eos,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    # Random weights pick special tokens as often as any: greedy decoding then writes only them, which vLLM
    # leaves out of the text. A zero embedding row (tied to the output) gives them logit 0, below the random
    # maximum, so the model writes ordinary (noise) text and max_tokens ends it.
    with torch.no_grad():
        for token in SPECIAL_TOKENS:
            model.get_input_embeddings().weight[bpe.token_to_id(token)] = 0.0
    model.save_pretrained(folder, safe_serialization=True)
    return folder


if __name__ == "__main__":
    import sys

    print(make_tiny_model(Path(sys.argv[1])))
