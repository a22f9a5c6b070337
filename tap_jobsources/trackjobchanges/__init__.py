"""TrackJobChanges API v1: connections and their employment histories."""
