"""Report writers: they render a RunReport and know nothing about the protocol under test."""
