"""Stage 7, the site: navigation, the MkDocs build (swapped in atomically), MkDocs hooks, the PDF."""
