FROM node:22-alpine
WORKDIR /app
COPY --chown=node:node . .
RUN chown node:node /app
