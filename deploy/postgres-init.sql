-- Temporal's auto-setup creates its own databases; this keeps the OMS database separate and
-- makes sure the oms role may create them.
ALTER ROLE oms CREATEDB;
