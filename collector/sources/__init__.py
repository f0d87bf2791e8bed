"""One module per data source. Each source polls into a frozen snapshot and, at scrape
time, turns the latest snapshots of every instance into fresh metric families."""
