-- Lab "Use Azure Machine Learning with Azure Synapse Analytics", part 2:
-- the 10 days of weather forecast that the registered model scores with PREDICT.
-- Run against the dedicated SQL pool. Safe to run again: the table is re-created
-- and re-loaded, so it always holds exactly the rows of weather-forecast.csv.
IF OBJECT_ID(N'dbo.weather_forecast', N'U') IS NOT NULL
    DROP TABLE dbo.weather_forecast;

CREATE TABLE dbo.weather_forecast
(
    season bigint,
    mnth bigint,
    holiday bigint,
    weekday bigint,
    workingday bigint,
    weathersit bigint,
    temp real,
    atemp real,
    hum real,
    windspeed real
);

-- The workspace's managed identity reads the data lake (it holds a Storage Blob
-- Data role on it); FIRSTROW = 2 skips the CSV header. The lab's file ends its
-- lines with \n alone, and COPY's default row terminator is \r\n (it reads '\n'
-- as \r\n too): 0x0A is a bare \n (COPY INTO (Transact-SQL), ROWTERMINATOR).
COPY INTO dbo.weather_forecast
FROM 'https://{{data_lake_account_name}}.dfs.core.windows.net/{{data_lake_filesystem}}/data/weather-forecast.csv'
WITH
(
    FILE_TYPE = 'CSV',
    FIRSTROW = 2,
    ROWTERMINATOR = '0x0A',
    CREDENTIAL = (IDENTITY = 'Managed Identity')
);

SELECT COUNT(*) AS forecast_days FROM dbo.weather_forecast;
