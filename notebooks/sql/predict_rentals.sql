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

-- 1. The model as notebook 03-predict wrote it: one CSV row per part,
-- model_id,part_no,part_count,description,hex_part. The model travels as a hexadecimal
-- string (twice its size) and COPY loads rows of at most 1,000,000 bytes, so a model of
-- any size comes in parts of 900,000 hexadecimal characters (450,000 bytes); COPY loads
-- each part into varbinary. Columns of type max load into HEAP tables only.
IF OBJECT_ID(N'dbo.rental_prediction_model_parts', N'U') IS NOT NULL
    DROP TABLE dbo.rental_prediction_model_parts;

CREATE TABLE dbo.rental_prediction_model_parts
(
    model_id int NOT NULL,
    part_no int NOT NULL,
    part_count int NOT NULL,
    description varchar(200),
    hex_part varbinary(max)
)
WITH
(
    DISTRIBUTION = ROUND_ROBIN,
    HEAP
);

-- The notebook ends each row with a line feed alone: COPY reads '\n' as '\r\n', so the
-- row terminator is given in hexadecimal. The workspace's managed identity reads the lake.
COPY INTO dbo.rental_prediction_model_parts (model_id 1, part_no 2, part_count 3, description 4, hex_part 5)
FROM 'https://{{data_lake_account_name}}.dfs.core.windows.net/{{data_lake_filesystem}}/{{model_path}}'
WITH
(
    FILE_TYPE = 'CSV',
    ROWTERMINATOR = '0x0A',
    CREDENTIAL = (IDENTITY = 'Managed Identity')
);

-- 2. The model table PREDICT reads: the ONNX model as one varbinary(max), with an id (the
-- registered model's version) and a description.
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

-- 3. The parts joined in part order, one at a time (a dedicated SQL pool has no cursors,
-- and STRING_AGG does not take varbinary), after checking that every part is there once.
DECLARE @model_id int = (SELECT MAX(model_id) FROM dbo.rental_prediction_model_parts);
DECLARE @part_count int = (
    SELECT MAX(part_count) FROM dbo.rental_prediction_model_parts WHERE model_id = @model_id
);
DECLARE @rows int = (
    SELECT COUNT(*) FROM dbo.rental_prediction_model_parts WHERE model_id = @model_id
);
DECLARE @description varchar(200) = (
    SELECT MAX(description) FROM dbo.rental_prediction_model_parts WHERE model_id = @model_id
);
DECLARE @model varbinary(max) = 0x;
DECLARE @part varbinary(max);
DECLARE @part_no int = 1;
DECLARE @message nvarchar(2048);

IF @model_id IS NULL
    THROW 50001, N'{{model_path}} holds no model: run the notebook 03-predict first.', 1;

IF @rows <> @part_count
BEGIN
    SET @message = CONCAT(N'{{model_path}} holds ', @rows, N' rows for the ', @part_count,
        N' parts of model ', @model_id, N': run the notebook 03-predict again.');
    THROW 50002, @message, 1;
END;

WHILE @part_no <= @part_count
BEGIN
    SET @part = (
        SELECT hex_part FROM dbo.rental_prediction_model_parts
        WHERE model_id = @model_id AND part_no = @part_no
    );
    IF @part IS NULL
    BEGIN
        SET @message = CONCAT(N'Part ', @part_no, N' of ', @part_count, N' of model ', @model_id,
            N' is missing from {{model_path}}: run the notebook 03-predict again.');
        THROW 50003, @message, 1;
    END;
    SET @model = @model + @part;
    SET @part_no = @part_no + 1;
END;

INSERT INTO dbo.rental_prediction_model (id, description, model)
VALUES (@model_id, @description, @model);

SELECT id, description, DATALENGTH(model) AS model_bytes FROM dbo.rental_prediction_model;
GO

-- 4. The stored procedure: each forecast day with its predicted rentals. PREDICT
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
