DROP TRIGGER work_stretches_keep ON shift_assignments;
DROP FUNCTION work_stretches_keep();
DROP FUNCTION work_stretches_rebuild(TEXT);
DROP FUNCTION work_stretches_add(TEXT, TIMESTAMP);
DROP TABLE work_stretches;
