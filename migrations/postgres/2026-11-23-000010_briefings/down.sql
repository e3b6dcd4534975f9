DROP TABLE quick_replies;
DROP TABLE briefing_revisions;
DROP TABLE briefings;
