"""Stage 7, publishing the site: navigation, the MkDocs build (swapped in atomically), hooks, the PDF."""
