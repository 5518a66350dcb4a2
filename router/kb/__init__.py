"""The knowledge base: articles in Markdown with their versions, full-text search on the database, a folder
of Markdown files in and out, the public help pages (docs/knowledge-base.md)."""
