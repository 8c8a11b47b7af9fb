FROM python:3.12-slim
RUN apt-get update \
    && apt-get install --no-install-recommends -y build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY entrypoint.sh /usr/local/bin/entrypoint.sh
RUN useradd -r app \
    && chown -R app /srv
USER app
CMD ["python", "app.py"]
