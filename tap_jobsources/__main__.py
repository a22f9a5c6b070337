from tap_jobsources.cli import main

main()
