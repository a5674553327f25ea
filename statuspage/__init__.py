"""The fleet status page: one model of the whole fleet's state, rendered as HTML, JSON and a terminal view."""
