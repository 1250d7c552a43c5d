"""Short factual sentences generated from the results, regenerated on every build."""

from generator.explain import method_title
from generator.pages_format import mean, pct
from generator.summary import own_top1_metrics


def case_observations(case, models_by_key, categories, k=5):
    """Plain-text sentences about one case: predictions, agreement, and what the measurements say."""
    results = list(case.models.values())
    label = case.spec.label_index
    sentences = [prediction_sentence(models_by_key[r.model_key].label, r, categories, label) for r in results]
    if len(results) > 1:
        tops = {r.top1.index for r in results}
        sentences.append(
            "The models agree on the top-1 class." if len(tops) == 1 else "The models disagree on the top-1 class."
        )
    sentences += concentration_sentences(results, models_by_key, categories)
    for r in results:
        name = models_by_key[r.model_key].label
        own = r.metrics.get(r.top1.index)
        if own is None:
            continue
        sentences += faithfulness_sentences(name, own)
        if own.methods_agreement is not None and is_number(own.methods_agreement.spearman):
            a = own.methods_agreement
            verdict = "agree" if a.spearman >= 0.5 else "partly agree" if a.spearman >= 0.2 else "disagree"
            sentences.append(
                f"For {name}, Grad-CAM and LIME {verdict} (Spearman {a.spearman:.2f}; "
                f"{round(a.top_k_overlap * k)} of the top {k} superpixels shared)."
            )
        if own.stability is not None and not own.stability.stable:
            sentences.append(
                f"{name}'s LIME explanation is unstable across seeds "
                f"(top superpixels' Jaccard {own.stability.mean_jaccard:.2f})."
            )
        if own.sanity_flagged:
            sentences.append(
                f"{name}'s Grad-CAM barely changes when its Grad-CAM layer is randomised "
                f"(rank correlation {own.sanity_rho:.2f}): "
                "treat it with suspicion."
            )
    return sentences


def prediction_sentence(name, result, categories, label):
    top = result.top1
    text = f"{name} predicts {top.name} ({pct(top.probability)})"
    if label is not None:
        text += ", which is correct" if top.index == label else f"; the ground truth is {categories[label]}"
        if top.index != label:
            rank = next((i + 1 for i, p in enumerate(result.top_k) if p.index == label), None)
            text += (
                f" (rank {rank} in its top-{len(result.top_k)})" if rank else f" (not in its top-{len(result.top_k)})"
            )
    return text + "."


def concentration_sentences(results, models_by_key, categories):
    values = [
        (models_by_key[r.model_key].label, r.metrics[r.top1.index].concentration)
        for r in results
        if r.top1.index in r.metrics and is_number(r.metrics[r.top1.index].concentration)
    ]
    if len(values) < 2:
        return [f"{name}'s Grad-CAM holds half its mass in {pct(v)} of the image." for name, v in values]
    (small_name, small), (large_name, large) = min(values, key=lambda v: v[1]), max(values, key=lambda v: v[1])
    return [
        f"{small_name}'s Grad-CAM is the most focused: half its mass lies in {pct(small)} of the image, "
        f"against {pct(large)} for {large_name}."
    ]


def faithfulness_sentences(name, target_metrics):
    """Compare each map with the random baseline on deletion and insertion separately."""
    faith = target_metrics.faithfulness
    if "random" not in faith:
        return []
    baseline = faith["random"]
    out = []
    for method, f in faith.items():
        if method == "random":
            continue
        title = method_title(method)
        deletion = f"deletion AUC {f.deletion_auc:.3f} vs {baseline.deletion_auc:.3f}"
        insertion = f"insertion AUC {f.insertion_auc:.3f} vs {baseline.insertion_auc:.3f}"
        beats = (f.deletion_auc < baseline.deletion_auc, f.insertion_auc > baseline.insertion_auc)
        verdict = {
            (True, True): "beats the random baseline on both deletion and insertion",
            (True, False): "beats the random baseline on deletion but not on insertion",
            (False, True): "beats the random baseline on insertion but not on deletion",
            (False, False): "does not beat the random baseline",
        }[beats]
        out.append(f"{name}'s {title} map {verdict} ({deletion}; {insertion}).")
    return out


def is_number(value):
    return value is not None and value == value


def report_findings(cases, models, k=5):
    """Cross-case sentences for the top of the overview, each backed by a number the report shows.

    Concentration means are those of the overview's table (the same own-top-1 metrics, the same mean);
    agreements count the cases whose pages show the rank correlations and overlaps.
    """
    if not cases:
        return []
    own = own_top1_metrics(cases, models)
    sentences = concentration_finding(own)
    if len(models) > 1:  # (top-1 agreement is in the summary below)
        sentences += lime_overlap_findings(cases, {model.key: model.label for model in models}, k)
    return sentences + methods_agreement_findings(own)


def concentration_finding(own):
    means = [(label, mean([m.concentration for m in group])) for label, group in own]
    means = [(label, value) for label, value in means if is_number(value)]
    if len(means) < 2:
        return []
    (small_name, small), (large_name, large) = min(means, key=lambda v: v[1]), max(means, key=lambda v: v[1])
    return [
        f"On average {small_name}'s Grad-CAM is the most concentrated: half of its mass lies in {pct(small)} of "
        f"the image, against {pct(large)} for {large_name} (each model's own top-1 class)."
    ]


def lime_overlap_findings(cases, labels, k):
    """Per pair of models: on how many cases their LIME top-k superpixels for the same class overlap by half."""
    pairs = {}
    for case in cases:
        for pair in case.comparisons:
            if pair.method == "lime":
                key = (labels[pair.model_a], labels[pair.model_b])
                pairs.setdefault(key, {}).setdefault(case.case_id, []).append(pair.agreement.top_k_overlap)
    sentences = []
    for (a, b), per_case in pairs.items():
        shared = sum(max(overlaps) >= 0.5 for overlaps in per_case.values())
        sentences.append(
            f"{a} and {b} share at least half of their top {k} LIME superpixels for the same class on {shared} of "
            f"{len(per_case)} cases."
        )
    return sentences


def methods_agreement_findings(own):
    sentences = []
    for label, group in own:
        rhos = [m.methods_agreement.spearman for m in group if m.methods_agreement]
        rhos = [rho for rho in rhos if is_number(rho)]
        if rhos:
            agree = sum(rho >= 0.5 for rho in rhos)
            sentences.append(
                f"For {label}, Grad-CAM and LIME agree (Spearman ρ of at least 0.5) on {agree} of {len(rhos)} cases."
            )
    return sentences
