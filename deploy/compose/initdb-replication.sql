-- Run once by the primary's entrypoint: a role the replica streams WAL with.
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replicator';
