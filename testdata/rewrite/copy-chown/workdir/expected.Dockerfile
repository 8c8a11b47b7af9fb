FROM node:22-alpine
WORKDIR /app
COPY --chown=node:node . .
RUN find /app \( ! -user node -o ! -group node \) -exec chown -h node:node {} +
