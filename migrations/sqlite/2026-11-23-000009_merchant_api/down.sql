DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE merchant_api_keys;
DROP TABLE merchant_widget_keys;
