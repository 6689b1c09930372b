"""Jets as particle clouds: the JetNet metrics and the substructure plots."""
