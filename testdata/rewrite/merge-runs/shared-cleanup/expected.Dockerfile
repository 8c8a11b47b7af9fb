FROM node:22-alpine
RUN npm install -g typescript@5.6.3 \
    && npm install -g eslint@9.0.0 && npm cache clean --force
