"""Stage 1, the inputs: the manifest's schema and loader, ImageNet class names, the author's own files."""
