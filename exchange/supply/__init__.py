"""Supply: what the hub knows about whether a catalogue resource can actually be pulled."""
