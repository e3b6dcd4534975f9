DROP TABLE agent_follow_ups;
