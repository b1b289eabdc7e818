"""TypeScript/JavaScript as syntax trees: parsing, scopes, and the idioms rules share."""
