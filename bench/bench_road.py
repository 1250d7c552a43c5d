"""What ROAD costs per map, against the deletion/insertion curves of the same map, on one model. Not a test.

    python bench/bench_road.py --model resnet50 --out bench/road.md

The model is torchvision's with seeded random weights (the trained ones cost the same), on chelsea through the
default recipe; the map is Grad-CAM's of the top class (which map it is does not change the cost). Each round
times, for that one map: ROAD's 18 images (9 fractions, most and least relevant first; each a sparse solve of
the noisy linear imputation) and their forward passes, and the deletion and insertion curves' images at the
default 16 steps (34 images) and theirs, through the build's batched classifier (`--batch-size`, default the
build's `auto`: 8 on a CPU). A build classifies both kinds in the same batches; apart, as here, their costs add.
"""

import statistics
import sys

import numpy as np
from harness import add_out, chelsea_case, command_line, load_named_model, parser_for, timed, write_report

from generator.explain import EXPLAINERS
from generator.manifest.schema import ExplainersSpec, MetricsSpec
from generator.measure.faithfulness import curve_images
from generator.measure.road import road_images
from generator.run.inference import batch_classifier


def main():
    parser = parser_for(__doc__)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", default="auto")
    add_out(parser)
    args = parser.parse_args()
    batch = args.batch_size if args.batch_size == "auto" else int(args.batch_size)

    model = load_named_model(args.model)
    inputs = chelsea_case()
    gradcam = EXPLAINERS["gradcam"](ExplainersSpec().section("gradcam"), seed=0)
    classify = batch_classifier(model, batch)
    crop = inputs.image.crop_array
    top = int(np.argmax(classify(crop[None])[0]))
    saliency = gradcam.saliency(gradcam.explain(model, inputs, (top,))[0], inputs)
    steps = MetricsSpec().steps
    rows = {"ROAD images (18 sparse solves)": [], "ROAD passes (18 images)": [],
            f"deletion/insertion images ({steps} steps)": [], f"deletion/insertion passes ({2 * steps + 2} images)": []}
    for _ in range(args.rounds):
        images, seconds = timed(lambda: road_images(crop, saliency, seed=0))
        rows["ROAD images (18 sparse solves)"].append(seconds)
        rows["ROAD passes (18 images)"].append(timed(lambda: classify(images))[1])
        (_, curves), seconds = timed(lambda: curve_images(crop, saliency, 0, steps))
        rows[f"deletion/insertion images ({steps} steps)"].append(seconds)
        rows[f"deletion/insertion passes ({2 * steps + 2} images)"].append(timed(lambda: classify(curves))[1])
    medians = {name: statistics.median(times) for name, times in rows.items()}
    names = list(medians)
    road, curves = medians[names[0]] + medians[names[1]], medians[names[2]] + medians[names[3]]
    lines = [
        f"# ROAD against the deletion/insertion curves, per map ({args.model})",
        "",
        f"`{command_line(__file__, sys.argv[1:])}`: seeded random {args.model}, chelsea, Grad-CAM's "
        f"map of the top class, batch {args.batch_size}, median of {args.rounds} rounds.",
        "",
        "| Step | Seconds |",
        "|---|--:|",
        *[f"| {name} | {seconds:.2f} |" for name, seconds in medians.items()],
        f"| **ROAD, per map** | **{road:.2f}** |",
        f"| **deletion/insertion, per map** | **{curves:.2f}** |",
        "",
        f"ROAD costs {road / curves:.2f}x the deletion and insertion curves of the same map; a build measures every "
        "map of every model's targets and the random map's, so per case and model it adds that per map.",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
