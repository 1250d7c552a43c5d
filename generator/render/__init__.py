"""Stage 6, the report's Markdown: figures per case, pages from the templates, tables, observations."""
