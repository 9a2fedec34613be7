"""The evaluation cases and their scoring: formats, right padding that changes nothing, retrieval targets."""

from __future__ import annotations

import torch

from engine.model.config import preset
from engine.model.decoder import Decoder
from engine.templates import WHOLEREPO
from engine.train.evaluate import Case, line_cases, retrieval_cases, score_cases
from engine.train.sources import SourceFile

from .conftest import CODE

FILES = [SourceFile(f"pkg/m{i}.py", text * 4) for i, text in enumerate(CODE)]


def test_line_cases_are_fim_prompts_with_the_rest_of_a_line_as_target(tokenizer):
    cases = line_cases(FILES, tokenizer, n_cases=6, prefix_tokens=64, suffix_tokens=16)
    eot = tokenizer.token_to_id("<|endoftext|>")
    assert len(cases) == 6
    for case in cases:
        prompt = tokenizer.decode(case.prompt, skip_special_tokens=False)
        assert case.target[-1] == eot
        line = tokenizer.decode(case.target[:-1], skip_special_tokens=False)
        assert "\n" not in line and line == line.strip() and len(line) >= 6
        prefix, suffix = WHOLEREPO.unfim(prompt)  # the local backend's rendering of (prefix, suffix)
        assert WHOLEREPO.fim(prefix, suffix) == prompt
        assert any(prefix.rpartition(WHOLEREPO.file_sep)[2].partition("\n")[2][-20:] + line + suffix[:20] in f.text
                   for f in FILES)


def test_retrieval_target_is_the_far_back_name(tokenizer):
    cases = retrieval_cases(FILES, tokenizer, distances=[40, 120], per_distance=3)
    assert [c.tag for c in cases] == ["distance=40"] * 3 + ["distance=120"] * 3
    for case in cases:
        name = tokenizer.decode(case.target, skip_special_tokens=False).strip()
        prompt = tokenizer.decode(case.prompt, skip_special_tokens=False)
        assert prompt.count(f"def {name}(") == 1 and prompt.endswith("import")
    assert len(cases[3].prompt) - len(cases[0].prompt) in range(70, 90)  # 80 more filler tokens, names vary


def test_scores_do_not_depend_on_batching(tokenizer):
    torch.manual_seed(0)
    model = Decoder(preset("tiny-full", vocab_size=640)).eval()
    cases = [Case(list(range(1, 5 + 7 * i)), [3, 4, 5]) for i in range(4)]
    together = score_cases(model, cases, batch_size=4, pad_id=0)
    alone = [score_cases(model, [case], batch_size=1, pad_id=0) for case in cases]
    expected = sum(s.target_nll for s in alone) / len(alone)
    assert abs(together.target_nll - expected) < 1e-4
    assert together.exact_match == sum(s.exact_match for s in alone) / len(alone)


def test_a_model_that_copies_scores_an_exact_match():
    class Echo(torch.nn.Module):
        """Predicts the token it was given: the right answer when targets repeat the last prompt token."""

        def __init__(self):
            super().__init__()
            self.tok_emb = torch.nn.Embedding(8, 1)

        def forward(self, tokens):
            return torch.nn.functional.one_hot(tokens, 8).float() * 10

    scores = score_cases(Echo(), [Case([1, 2, 2], [2, 2]), Case([1, 3], [4])], batch_size=2, pad_id=0)
    assert scores.cases == 2 and scores.exact_match == 0.5
