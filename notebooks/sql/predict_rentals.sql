-- Lab "Use Azure Machine Learning with Azure Synapse Analytics", part 2:
-- predict the rentals of the 10 forecast days in the dedicated SQL pool with T-SQL
-- PREDICT and the ONNX model that notebook 02-train-automl registered.
--
-- Before running it (against {{sql_pool_name}}):
--   1. Resume the pool: Manage > SQL pools > {{sql_pool_name}} > Resume.
--   2. Run the notebook 03-predict: it loads dbo.weather_forecast (or run the script
--      "Load weather forecast"), checks that every model input has its column there,
--      and writes the model to {{model_path}} in the data lake.
-- After it: pause the pool (Manage > SQL pools > {{sql_pool_name}} > Pause), which
-- bills by the hour while it runs. Safe to run again: it re-creates what it creates.

-- 1. The model table: the ONNX model as varbinary(max), with an id and a description.
IF OBJECT_ID(N'dbo.rental_prediction_model', N'U') IS NOT NULL
    DROP TABLE dbo.rental_prediction_model;

CREATE TABLE dbo.rental_prediction_model
(
    id int NOT NULL,
    description varchar(200),
    model varbinary(max)
)
WITH
(
    DISTRIBUTION = ROUND_ROBIN,
    HEAP
);

-- 2. The model as notebook 03-predict wrote it: one CSV row of id (the registered
-- model's version), description and the model as a hexadecimal string, which COPY
-- loads into the varbinary column. The workspace's managed identity reads the lake.
COPY INTO dbo.rental_prediction_model (id 1, description 2, model 3)
FROM 'https://{{data_lake_account_name}}.dfs.core.windows.net/{{data_lake_filesystem}}/{{model_path}}'
WITH
(
    FILE_TYPE = 'CSV',
    CREDENTIAL = (IDENTITY = 'Managed Identity')
);
GO

-- 3. The stored procedure: each forecast day with its predicted rentals. PREDICT
-- matches every model input to the column of that name in DATA (bigint and real in
-- dbo.weather_forecast, as the model's int64 and float inputs); variable_out1 is the
-- output of AutoML's ONNX regression models.
IF OBJECT_ID(N'dbo.predict_rentals', N'P') IS NOT NULL
    DROP PROCEDURE dbo.predict_rentals;
GO

CREATE PROCEDURE dbo.predict_rentals
AS
BEGIN
    DECLARE @model varbinary(max) = (
        SELECT model FROM dbo.rental_prediction_model
        WHERE id = (SELECT MAX(id) FROM dbo.rental_prediction_model)
    );

    SELECT d.*, p.variable_out1 AS predicted_rentals
    FROM PREDICT(MODEL = @model, DATA = dbo.weather_forecast AS d, RUNTIME = ONNX)
    WITH (variable_out1 real) AS p;
END;
GO

EXEC dbo.predict_rentals;
