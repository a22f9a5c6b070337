from tap_jobsources.tap import TapJobSources

TapJobSources.cli()
