"""tap-jobsources: a Singer tap for Getro, Bindbee and TrackJobChanges."""
