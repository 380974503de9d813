"""Reference for tstorch's entity scores (lib/train/seqeval.ts, test/sequence_classification.test.ts):
seqeval 1.2's default (conlleval) mode in plain Python, as HF's run_ner reports it through
evaluate's "seqeval" metric: get_entities (chunks of B-/I-/E-/S- tags, a chunk also ending where
the type changes; an I- after O starts one), entities counted per sentence, micro-averaged
precision = correct / predicted, recall = correct / gold, f1 = 2pr / (p + r) (0 where a
denominator is 0), and accuracy over the tags (accuracy_score). Also per entity type.

Usage: seqeval_ref.py SPEC.json OUT.json
SPEC: {"cases": [{"true": [[tag, ...], ...], "pred": [[tag, ...], ...]}]}
OUT: a list, per case: {"entities": [[type, sentence, start, end], ...] of the gold tags,
     "overall": {"precision", "recall", "f1", "accuracy", "correct", "predicted", "gold"},
     "types": {type: {"precision", "recall", "f1", "number"}}}
"""
import json
import sys


def end_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_end = False
    if prev_tag == "E":
        chunk_end = True
    if prev_tag == "S":
        chunk_end = True
    if prev_tag == "B" and tag == "B":
        chunk_end = True
    if prev_tag == "B" and tag == "S":
        chunk_end = True
    if prev_tag == "B" and tag == "O":
        chunk_end = True
    if prev_tag == "I" and tag == "B":
        chunk_end = True
    if prev_tag == "I" and tag == "S":
        chunk_end = True
    if prev_tag == "I" and tag == "O":
        chunk_end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != type_:
        chunk_end = True
    return chunk_end


def start_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_start = False
    if tag == "B":
        chunk_start = True
    if tag == "S":
        chunk_start = True
    if prev_tag == "E" and tag == "E":
        chunk_start = True
    if prev_tag == "E" and tag == "I":
        chunk_start = True
    if prev_tag == "S" and tag == "E":
        chunk_start = True
    if prev_tag == "S" and tag == "I":
        chunk_start = True
    if prev_tag == "O" and tag == "E":
        chunk_start = True
    if prev_tag == "O" and tag == "I":
        chunk_start = True
    if tag != "O" and tag != "." and prev_type != type_:
        chunk_start = True
    return chunk_start


def get_entities(seq):
    """seqeval.metrics.sequence_labeling.get_entities (suffix=False): (type, start, end) chunks."""
    prev_tag, prev_type, begin_offset, chunks = "O", "", 0, []
    for i, chunk in enumerate(seq + ["O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin_offset, i - 1))
        if start_of_chunk(prev_tag, tag, prev_type, type_):
            begin_offset = i
        prev_tag, prev_type = tag, type_
    return chunks


def scores(correct, predicted, gold):
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def report(y_true, y_pred):
    true_ents, pred_ents = set(), set()
    for i, (t, p) in enumerate(zip(y_true, y_pred)):
        true_ents |= {(ty, i, s, e) for ty, s, e in get_entities(t)}
        pred_ents |= {(ty, i, s, e) for ty, s, e in get_entities(p)}
    types = sorted({e[0] for e in true_ents | pred_ents})
    per_type = {}
    for ty in types:
        t = {e for e in true_ents if e[0] == ty}
        p = {e for e in pred_ents if e[0] == ty}
        pr, rc, f = scores(len(t & p), len(p), len(t))
        per_type[ty] = {"precision": pr, "recall": rc, "f1": f, "number": len(t)}
    flat_t = [x for s in y_true for x in s]
    flat_p = [x for s in y_pred for x in s]
    correct = len(true_ents & pred_ents)
    pr, rc, f = scores(correct, len(pred_ents), len(true_ents))
    accuracy = sum(a == b for a, b in zip(flat_t, flat_p)) / len(flat_t)
    return {
        "entities": sorted([list(e) for e in true_ents], key=lambda e: (e[1], e[2])),
        "overall": {"precision": pr, "recall": rc, "f1": f, "accuracy": accuracy,
                    "correct": correct, "predicted": len(pred_ents), "gold": len(true_ents)},
        "types": per_type,
    }


def main(spec_path, out_path):
    with open(spec_path) as f:
        spec = json.load(f)
    with open(out_path, "w") as f:
        json.dump([report(c["true"], c["pred"]) for c in spec["cases"]], f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
