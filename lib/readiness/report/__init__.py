"""Turn findings into what people act on: score, verdict, checklist, tables, exports."""
