"""cellfleet's tool: the one place that reads inputs, writes outputs, reads the clock, runs git and calls AWS."""
